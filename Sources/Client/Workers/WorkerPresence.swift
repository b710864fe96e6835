import StreamKitEngine
import Synchronization

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A worker registered by ``StreamKitClient/registerWorker(store:workerID:metadata:heartbeatInterval:)``,
/// kept alive by heartbeats in the background until ``stop()`` or ``StreamKitClient/close()`` — or until another
/// registration of the same id displaces it.
///
/// When a heartbeat finds the registration gone, the client asks the store whether another registration of the
/// id is live. If one is, this registration was **displaced** (someone registered the id after it): it ends
/// without registering again — ``state`` becomes ``State/displaced`` and ``ended()`` throws `notFound` — since
/// registering again would displace the other one, which would do the same, forever. If none is, the store
/// evicted it (three missed intervals) and it registers again with a new generation. Other heartbeat errors are
/// recorded in ``lastError`` and the next interval tries again. A `Mutex` guards the mutable state.
public final class WorkerPresence: Sendable {
    /// Whether a registration is still kept alive.
    public enum State: Sendable, Hashable {
        /// Heartbeats are being sent.
        case active
        /// Another registration of the same id replaced this one; its heartbeats stopped and it does not register
        /// again. ``WorkerPresence/ended()`` throws why.
        case displaced
        /// ``WorkerPresence/stop()`` or ``StreamKitClient/close()`` ended it (and unregistered it).
        case stopped
    }

    /// The store the worker is registered in.
    public let storeID: UUID
    /// The worker's id.
    public let workerID: String
    private struct Storage {
        var generation: UInt64
        var heartbeats = 0
        var registrations = 1
        var lastError: String?
        var phase = WorkerPresence.State.active
        var displacement: StreamKitError?
        var task: BackgroundTasks.Handle?
    }

    private let storage: Mutex<Storage>

    init(storeID: UUID, workerID: String, generation: UInt64) {
        self.storeID = storeID
        self.workerID = workerID
        storage = Mutex(Storage(generation: generation))
    }

    /// The current registration's generation (it changes when the worker re-registers).
    public var generation: UInt64 { storage.withLock { $0.generation } }
    /// Heartbeats the store accepted.
    public var heartbeatCount: Int { storage.withLock { $0.heartbeats } }
    /// Registrations made, the first included.
    public var registrationCount: Int { storage.withLock { $0.registrations } }
    /// The latest heartbeat or registration error, as text.
    public var lastError: String? { storage.withLock { $0.lastError } }
    /// Whether the registration is active, was displaced, or was stopped.
    public var state: State { storage.withLock { $0.phase } }

    /// Stops the heartbeats, waits for them to end, and unregisters the worker. Calling it again, or after the
    /// registration was displaced, does nothing more.
    public func stop() async {
        let task = storage.withLock { $0.task }
        await task?.cancelAndWait()
    }

    /// Waits until the registration ends.
    ///
    /// - Throws: `notFound` when another registration of the same id displaced it (``State/displaced``); nothing
    ///   when ``stop()`` or ``StreamKitClient/close()`` ended it.
    public func ended() async throws {
        let task = storage.withLock { $0.task }
        await task?.task.value
        if let displacement = storage.withLock({ $0.displacement }) { throw displacement }
    }

    // MARK: - For the heartbeat loop

    func attach(_ task: BackgroundTasks.Handle) { storage.withLock { $0.task = task } }

    func recordHeartbeat() { storage.withLock { $0.heartbeats += 1 } }

    func recordRegistration(_ generation: UInt64) {
        storage.withLock {
            $0.generation = generation
            $0.registrations += 1
        }
    }

    func recordError(_ error: any Error) { storage.withLock { $0.lastError = "\(error)" } }

    func recordDisplaced(_ error: StreamKitError) {
        storage.withLock {
            $0.phase = .displaced
            $0.displacement = error
            $0.lastError = "\(error)"
        }
    }

    /// The heartbeats ended: stopped, unless displaced first.
    func recordStopped() {
        storage.withLock { if $0.phase == .active { $0.phase = .stopped } }
    }
}
