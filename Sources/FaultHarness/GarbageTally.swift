import Synchronization

/// Counts of the garbage phase, shared by its threads and tasks.
final class GarbageTally: Sendable {
    private struct State {
        var inputs: [String: Int] = [:]
        var connectFailures = 0
        var refusableAccepted: [String: Int] = [:]
        var leftOpen: [String: Int] = [:]
        var upgradeFailures = 0
        var unknownStoreCalls = 0
        var unknownStoreErrors: [String: Int] = [:]
        var lingerers = 0
        var lingerersClosed = 0
        var slowestLingererClose: Duration?
    }

    private let state = Mutex(State())

    func input(_ name: String) { state.withLock { $0.inputs[name, default: 0] += 1 } }
    func connectFailed() { state.withLock { $0.connectFailures += 1 } }
    func refusableAccepted(_ name: String) { state.withLock { $0.refusableAccepted[name, default: 0] += 1 } }
    func leftOpen(_ name: String) { state.withLock { $0.leftOpen[name, default: 0] += 1 } }
    func upgradeFailed() { state.withLock { $0.upgradeFailures += 1 } }
    func unknownStoreCall(error: String?) {
        state.withLock { state in
            state.unknownStoreCalls += 1
            if let error { state.unknownStoreErrors[error, default: 0] += 1 }
        }
    }

    /// `count` idle or slowloris connections were opened; the server closed `closed` of them within the
    /// window, the last `slowest` after opening.
    func lingerers(opened count: Int, closed: Int, slowest: Duration?) {
        state.withLock {
            $0.lingerers += count
            $0.lingerersClosed += closed
            if let slowest { $0.slowestLingererClose = max($0.slowestLingererClose ?? .zero, slowest) }
        }
    }

    var inputs: [String: Int] { state.withLock { $0.inputs } }
    var totalInputs: Int { state.withLock { $0.inputs.values.reduce(0, +) } }
    var connectFailures: Int { state.withLock { $0.connectFailures } }
    var refusableAcceptedCounts: [String: Int] { state.withLock { $0.refusableAccepted } }
    var leftOpenCounts: [String: Int] { state.withLock { $0.leftOpen } }
    var upgradeFailures: Int { state.withLock { $0.upgradeFailures } }
    var unknownStoreCalls: Int { state.withLock { $0.unknownStoreCalls } }
    var unknownStoreErrors: [String: Int] { state.withLock { $0.unknownStoreErrors } }
    var lingerersOpened: Int { state.withLock { $0.lingerers } }
    var lingerersClosed: Int { state.withLock { $0.lingerersClosed } }
    var slowestLingererClose: Duration? { state.withLock { $0.slowestLingererClose } }
}
