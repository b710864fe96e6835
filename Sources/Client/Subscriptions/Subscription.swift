#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
import Synchronization

/// A live subscription made by ``StreamKitClient/subscribe(store:space:segment:handler:)``: its status, and
/// how to end it.
///
/// A `Mutex` guards the status and the dispatcher task.
public final class Subscription: Sendable {
    /// The subscription's id (also in its logs as `subscription_id`).
    public let id: UUID
    private let state: Mutex<(status: SubscriptionStatus, task: BackgroundTasks.Handle?)>

    init(id: UUID, space: String, segment: String) {
        self.id = id
        state = Mutex((SubscriptionStatus(id: id, space: space, segment: segment), nil))
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
            if status.state == .active { status.state = .cancelled }
        }
    }

    // MARK: - For the dispatcher

    func attach(_ task: BackgroundTasks.Handle) {
        state.withLock { $0.task = task }
    }

    func update(_ change: (inout SubscriptionStatus) -> Void) {
        state.withLock { change(&$0.status) }
    }
}
