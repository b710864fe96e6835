import Logging
import StreamKitClient

/// Clients of the server under test: the WebSocket transport, no token, no logs.
enum HarnessClient {
    /// A client of `url` with `retry` for opening operations.
    static func make(_ url: String, retry: RetryPolicy = .default) -> StreamKitClient {
        let quiet = Logger(label: "streamkit-faults.client") { _ in SwiftLogNoOpLogHandler() }
        let configuration = ClientConfiguration(retryPolicy: retry, logger: quiet)
        return StreamKitClient(transport: .webSocket(url: url, token: { nil }), configuration: configuration)
    }

    /// Closes `client`; false when that takes longer than `timeout` (a client defect worth reporting).
    static func close(_ client: StreamKitClient, timeout: Duration = .seconds(30)) async -> Bool {
        await withDeadline(timeout) {
            await client.close()
            return true
        } ?? false
    }
}
