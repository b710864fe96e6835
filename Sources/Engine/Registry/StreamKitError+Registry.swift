#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// MARK: - Store registry

extension StreamKitError {
    /// `storeUnavailable` (retryable): the store's circuit breaker is open after `failures` consecutive failed
    /// opens; the registry will try again in `retryIn` nanoseconds.
    static func storeUnavailable(_ id: UUID, failures: Int, retryIn: UInt64, lastError: String) -> Self {
        .init(
            code: .storeUnavailable,
            message: "the store could not be opened \(failures) times in a row (last error: \(lastError)); calls fail"
                + " fast until the registry tries again in \(seconds(retryIn)) s",
            storeID: id)
    }

    /// `storeClosing`: the registry has been shut down.
    static func registryShutDown(_ id: UUID) -> Self {
        .init(code: .storeClosing, message: "the store registry is shut down", storeID: id)
    }

    /// `storage`: the registry's root directory cannot be created.
    static func registryRoot(_ root: String, _ error: any Error, id: UUID) -> Self {
        .init(code: .storage, message: "cannot create the store registry root \(root): \(error)", storeID: id)
    }

    /// An open failure as a `StreamKitError` that names the store.
    static func openFailure(_ error: any Error, id: UUID) -> Self {
        StreamKitError.storage(error, storeID: id)
    }

    /// `nanoseconds` as seconds with one decimal, rounded up (so a pending wait never reads 0.0).
    private static func seconds(_ nanoseconds: UInt64) -> String {
        let (rounded, overflow) = nanoseconds.addingReportingOverflow(99_999_999)
        let tenths = (overflow ? UInt64.max : rounded) / 100_000_000
        return "\(tenths / 10).\(tenths % 10)"
    }
}
