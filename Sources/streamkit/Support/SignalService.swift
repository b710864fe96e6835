import ServiceLifecycle

/// SIGINT and SIGTERM as a swift-service-lifecycle `Service` of `streamkit serve`'s group: returns at the first
/// signal, and the group (which runs it with `successTerminationBehavior: .gracefullyShutdownGroup`) then shuts the
/// other services down gracefully, in reverse order. Also returns when the group shuts down or is cancelled for
/// another reason (a service that failed).
///
/// Not the group's own `gracefulShutdownSignals`: swift-service-lifecycle reads those through a Dispatch signal
/// source, which lost signals on Linux here (see ``SignalWatcher``). The watcher's second signal still ends the
/// process at once when it was made with `forceExitOnSecond`.
struct SignalService: Service {
    /// The signals, watched since before the server listens.
    let watcher: SignalWatcher
    /// Told the signal that ended the run, before the group shuts down.
    let received: @Sendable (Int32) -> Void

    func run() async throws {
        let watcher = watcher
        guard let signal = await cancelWhenGracefulShutdown({ await watcher.next() }) else { return }
        received(signal)
    }
}
