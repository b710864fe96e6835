import Foundation
import StreamKitTestSupport
import Synchronization
import Testing

@testable import StreamKitEngine
@testable import StreamKitPostgres

/// Every call to PostgreSQL ends at its bound, even one whose work ignores cancellation (a query on a connection
/// to a server that went away): the outage test hung there while the bound was a task group, which waits for
/// its children.
@Suite(.timeLimit(.minutes(2))) struct PostgresCallBoundTests {
    @Test("a call whose work ignores cancellation fails with storeUnavailable at the bound instead of waiting for it")
    func aCallThatIgnoresCancellationEndsAtTheBound() async throws {
        var options = PostgresLog.Options()
        options.connectionWait = .seconds(1)
        options.statementTimeout = .seconds(1)
        let log = try await TestPostgres.node(options: options)
        let stuck = Mutex<CheckedContinuation<Void, Never>?>(nil)

        let error = await streamKitError {
            try await log.withConnection { _ in
                // Work that only ends when the test lets it, whatever cancellation says.
                await withCheckedContinuation { continuation in stuck.withLock { $0 = continuation } }
            }
        }

        #expect(error?.code == .storeUnavailable, "\(String(describing: error))")
        stuck.withLock { $0 }?.resume()  // Only now may the work end.
        await log.close()
    }
}
