import StreamKitEngine

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// MARK: - Client errors

extension StreamKitError {
    /// `storeClosing`: the client was closed; no later call can succeed.
    static func clientClosed(storeID: UUID? = nil) -> Self {
        .init(code: .storeClosing, message: "the client is closed", storeID: storeID)
    }

    /// `invalidArgument` raised by the client before anything is sent.
    static func clientInvalidArgument(_ message: String, limit: Int? = nil, value: Int? = nil) -> Self {
        .init(code: .invalidArgument, message: message, limit: limit, value: value)
    }

    /// `leaseNotHeld`: another holder holds the lease on `key`, so it was not acquired.
    static func leaseNotAcquired(key: String, storeID: UUID) -> Self {
        .init(
            code: .leaseNotHeld, message: "lease '\(key)' was not acquired: another holder holds it", storeID: storeID)
    }

    /// `notFound`: another registration of `workerID` replaced this client's, which ended (it is not registered
    /// again, or the two would displace each other forever).
    static func workerDisplaced(workerID: String, storeID: UUID, cause: StreamKitError) -> Self {
        .init(
            code: .notFound,
            message: "worker '\(workerID)' was displaced by another registration of its id and ended: \(cause.message)",
            storeID: storeID)
    }

    /// `leaseNotHeld`: the lease on `key` was lost while the body ran (renewal failed), so the body was cancelled.
    /// `leaseNotHeld`: another reader holds durable consumer `name` (its lease).
    static func consumerBusy(_ name: String, storeID: UUID) -> Self {
        .init(
            code: .leaseNotHeld, message: "consumer \(name) is being read by another reader (its lease is held)",
            storeID: storeID)
    }

    static func leaseLost(key: String, storeID: UUID, cause: any Error) -> Self {
        .init(
            code: .leaseNotHeld,
            message: "lease '\(key)' was lost while its body ran, so the body was cancelled: \(cause)",
            storeID: storeID)
    }
}
