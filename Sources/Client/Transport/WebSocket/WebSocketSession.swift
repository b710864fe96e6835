import NIOCore
import NIOWebSocket
import StreamKitEngine

/// Runs one dialled WebSocket for a ``ClientConnection`` until either side ends it: a writer task puts the
/// connection's frames on the socket (masked, as a client must), a reader feeds received binary messages to
/// it (one actor hop per message), and a ticker drives its heartbeat and silence timeout.
enum WebSocketSession {
    static func run(
        _ channel: WebSocketDialer.Channel, connection: ClientConnection, output: AsyncStream<[UInt8]>,
        tickInterval: Duration
    ) async {
        let url = connection.url
        try? await channel.executeThenClose { inbound, outbound in
            await withTaskGroup(of: Void.self) { group in
                group.addTask {  // Writer: mux frames, in order, until the connection ends.
                    for await frame in output {
                        let message = WebSocketFrame(
                            fin: true, opcode: .binary, maskKey: .random(), data: ByteBuffer(bytes: frame))
                        do { try await outbound.write(message) } catch { return }
                    }
                    let goodbye = WebSocketFrame(
                        fin: true, opcode: .connectionClose, maskKey: .random(), data: ByteBuffer(bytes: [0x03, 0xE8]))
                    try? await outbound.write(goodbye)
                }
                group.addTask {  // Reader.
                    do {
                        for try await frame in inbound {
                            switch frame.opcode {
                            case .binary:
                                await connection.receive(frame.unmaskedData)
                            case .ping:
                                let pong = WebSocketFrame(
                                    fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
                                try await outbound.write(pong)
                            case .connectionClose:
                                return
                            default:
                                break
                            }
                        }
                    } catch {
                        // A reset connection ends like a closed one.
                    }
                }
                group.addTask {  // Heartbeat and silence timeout.
                    while (try? await Task.sleep(for: tickInterval)) != nil {
                        await connection.tick()
                    }
                }
                _ = await group.next()
                await connection.shutdown(
                    StreamKitError(code: .storeUnavailable, message: "the connection to \(url) was lost"))
                group.cancelAll()
                channel.channel.close(promise: nil)
            }
        }
    }
}
