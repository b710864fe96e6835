public import ServiceLifecycle

extension PostgresLog: Service {
    /// Runs the log as a swift-service-lifecycle `Service`: its connections are already open (``connect(_:options:logger:)``);
    /// this waits for the graceful shutdown of its `ServiceGroup` (or the cancellation of the calling task), then
    /// closes them (``close()``) and returns.
    ///
    /// Put it before the `StoreRegistry` that opens stores over it: a group shuts its services down in the reverse
    /// order, so the stores' last commits still find their connections.
    public func run() async throws {
        try? await gracefulShutdown()  // Returns on graceful shutdown, throws on cancellation: either way, close.
        await close()
    }
}
