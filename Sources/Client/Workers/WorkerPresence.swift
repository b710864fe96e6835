#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
import Synchronization

/// A worker registered by ``StreamKitClient/registerWorker(store:workerID:metadata:heartbeatInterval:)``,
/// kept alive by heartbeats in the background until ``stop()`` or ``StreamKitClient/close()``.
///
/// When a heartbeat finds the registration gone (the worker missed three intervals and was evicted, or
/// another registration of the same id replaced it), the worker registers again and gets a new generation.
/// Other heartbeat errors are recorded in ``lastError`` and the next interval tries again. A `Mutex` guards
/// the mutable state.
public final class WorkerPresence: Sendable {
    /// The store the worker is registered in.
    public let storeID: UUID
    /// The worker's id.
    public let workerID: String
    private struct State {
        var generation: UInt64
        var heartbeats = 0
        var registrations = 1
        var lastError: String?
        var task: BackgroundTasks.Handle?
    }

    private let state: Mutex<State>

    init(storeID: UUID, workerID: String, generation: UInt64) {
        self.storeID = storeID
        self.workerID = workerID
        state = Mutex(State(generation: generation))
    }

    /// The current registration's generation (it changes when the worker re-registers).
    public var generation: UInt64 { state.withLock { $0.generation } }
    /// Heartbeats the store accepted.
    public var heartbeatCount: Int { state.withLock { $0.heartbeats } }
    /// Registrations made, the first included.
    public var registrationCount: Int { state.withLock { $0.registrations } }
    /// The latest heartbeat or registration error, as text.
    public var lastError: String? { state.withLock { $0.lastError } }

    /// Stops the heartbeats, waits for them to end, and unregisters the worker. Calling it again does nothing.
    public func stop() async {
        let task = state.withLock { $0.task }
        await task?.cancelAndWait()
    }

    // MARK: - For the heartbeat loop

    func attach(_ task: BackgroundTasks.Handle) { state.withLock { $0.task = task } }

    func recordHeartbeat() { state.withLock { $0.heartbeats += 1 } }

    func recordRegistration(_ generation: UInt64) {
        state.withLock {
            $0.generation = generation
            $0.registrations += 1
        }
    }

    func recordError(_ error: any Error) { state.withLock { $0.lastError = "\(error)" } }
}
