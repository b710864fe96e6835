public import ServiceLifecycle

extension StoreRegistry: Service {
    /// Runs the registry as a swift-service-lifecycle `Service`: starts its background work (``start()``: idle
    /// eviction, retention of closed stores), waits for the graceful shutdown of its `ServiceGroup` (or the
    /// cancellation of the calling task), then shuts it down (``shutdown()``: calls in progress finish, every store
    /// is closed) and returns.
    ///
    /// Put it before the ``StoreRegistry``'s users in the group (a server): a group shuts its services down in the
    /// reverse order, so the stores close after the server stopped using them.
    public nonisolated func run() async throws {
        await start()
        try? await gracefulShutdown()  // Returns on graceful shutdown, throws on cancellation: either way, stop.
        await shutdown()
    }

    /// Whether the registry can serve: it runs (not shutting down) and its backend answers (PostgreSQL: one round
    /// trip to the database). The server's readiness probe (`GET /health/ready`) asks it.
    ///
    /// - Throws: `storeClosing` once ``shutdown()`` began; the backend's error (e.g. `storeUnavailable`) when it
    ///   does not answer.
    public func checkReadiness() async throws {
        guard case .running = state else {
            throw StreamKitError(code: .storeClosing, message: "the store registry is shutting down")
        }
        try await configuration.readinessCheck?()
    }
}
