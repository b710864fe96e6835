import StreamKitEngine
import StreamKitWire
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `start()` and `shutdown()` racing: whatever point of the start a shutdown comes at, nothing listens once the
/// shutdown returned, and the start either returned a port that no longer accepts, or failed: `storeClosing` when
/// the shutdown came while it bound, `invalidArgument` when it came before the start began.
@Suite(.timeLimit(.minutes(5)))
struct ServerLifecycleTests {
    @Test("a shutdown at any point of start leaves nothing listening once it returns (1,000 rounds)")
    func shutdownDuringStartLeavesNothingListening() async throws {
        var configuration = RegistryConfiguration()
        configuration.inMemory = true
        let registry = StoreRegistry(root: "/nonexistent-streamkit-lifecycle-tests", configuration: configuration)
        var (started, interrupted, refused) = (0, 0, 0)

        for round in 0..<1_000 {
            let server = StreamKitServer(registry: registry, configuration: .init(authentication: .none, port: 0))
            let start = Task { () -> Result<Int, StreamKitError> in
                do { return .success(try await server.start()) } catch let error as StreamKitError {
                    return .failure(error)
                } catch {
                    return .failure(StreamKitError(code: .internalError, message: "\(error)"))
                }
            }
            // Spreads the shutdown over the start's steps: before it, while it binds, after it (every tenth round
            // lets it finish; which path a round takes changes nothing the test expects).
            for _ in 0..<(round % 25) { await Task.yield() }
            if round % 10 == 9 { _ = await start.value }
            await server.shutdown()
            let listeningAfterShutdown = server.isListening
            let outcome = await start.value
            let restart = await #expect(throws: StreamKitError.self) { _ = try await server.start() }

            #expect(!listeningAfterShutdown, "round \(round)")
            #expect(!server.isListening, "round \(round)")
            #expect(restart?.code == .invalidArgument)
            switch outcome {
            case .success(let port):
                started += 1
                await #expect(throws: (any Error).self, "round \(round): port \(port) still accepts") {
                    let connection = try await RawConnection.open(port: port)
                    await connection.close()
                }
            case .failure(let error) where error.code == .storeClosing:
                interrupted += 1
            case .failure(let error):
                refused += 1
                #expect(error.code == .invalidArgument, "round \(round): \(error)")
            }
        }
        await registry.shutdown()

        #expect(started + interrupted + refused == 1_000)
        print(
            "ServerLifecycleTests: \(started) started then shut down, \(interrupted) shut down while binding, \(refused) shut down before starting"
        )
    }
}
