import Synchronization

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A live subscription made by
/// ``StreamKitClient/subscribe(store:space:segment:heartbeat:silenceBound:handler:)``: its status, and how to end
/// it.
///
/// A `Mutex` guards the status and the dispatcher task.
public final class Subscription: Sendable {
    /// The subscription's id (also in its logs as `subscription_id`).
    public let id: UUID
    private struct State {
        var status: SubscriptionStatus
        var task: BackgroundTasks.Handle?
        /// Opens the feed again and starts a new dispatcher (``restart()``).
        var start: (@Sendable () async throws -> BackgroundTasks.Handle)?
        var restarting = false
    }

    private let state: Mutex<State>

    init(id: UUID, space: String, segment: String) {
        self.id = id
        state = Mutex(State(status: SubscriptionStatus(id: id, space: space, segment: segment)))
    }

    /// The subscription's health: state, counters and last error.
    ///
    /// - Returns: A snapshot; call again for fresh numbers.
    public func status() -> SubscriptionStatus { state.withLock { $0.status } }

    /// Ends the subscription and waits until no handler call of it is running (a running handler is
    /// cancelled). Calling it again, or after the client closed, does nothing more.
    ///
    /// Called from the subscription's own handler, it cannot wait for that call to end: it cancels the handler
    /// and returns; no further call starts.
    public func cancel() async {
        let task = state.withLock { $0.task }
        await task?.cancelAndWait()
        update { status in
            if status.state == .active || status.state == .silent { status.state = .cancelled }
        }
    }

    /// Starts a ``SubscriptionStatus/State-swift.enum/failed`` subscription again — after the application fixed
    /// what made it fail (a refused token, a store closed for good): it subscribes anew, the handler gets a fresh
    /// snapshot, then live statuses, and the counters go on. Does nothing for a subscription that is running.
    /// - Throws: `invalidArgument` for a cancelled subscription; the subscribe errors (it stays failed, with the
    ///   error as ``SubscriptionStatus/lastError``); `storeClosing` after the client closed.
    public func restart() async throws {
        let start = try state.withLock { state -> (@Sendable () async throws -> BackgroundTasks.Handle)? in
            switch state.status.state {
            case .active, .silent: return nil
            case .cancelled: throw StreamKitError.clientInvalidArgument("a cancelled subscription cannot restart")
            case .failed:
                guard !state.restarting else { return nil }
                state.restarting = true
                return state.start
            }
        }
        guard let start else { return }
        do {
            let task = try await start()
            state.withLock { state in
                state.restarting = false
                guard state.status.state == .failed else { return }  // Cancelled meanwhile: nothing to resume.
                state.task = task
                state.status.state = .active
                state.status.restartCount += 1
            }
        } catch {
            state.withLock { state in
                state.restarting = false
                state.status.lastError = "\(error)"
            }
            throw error
        }
    }

    // MARK: - For the dispatcher

    func attach(
        _ task: BackgroundTasks.Handle, restart start: @escaping @Sendable () async throws -> BackgroundTasks.Handle
    ) {
        state.withLock { state in
            state.task = task
            state.start = start
        }
    }

    func update(_ change: (inout SubscriptionStatus) -> Void) {
        state.withLock { change(&$0.status) }
    }
}
