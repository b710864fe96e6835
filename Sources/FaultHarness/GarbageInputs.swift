import Foundation
import StreamKitTestSupport

/// The bytes the garbage phase sends: upgrade requests, valid and broken in many ways, and WebSocket frames,
/// well-formed or not (RFC 6455 §5.2: a client masks every frame).
enum GarbageInputs {
    static let path = "/streamkit"

    /// A well-formed upgrade request for `port`, with `key` as `Sec-WebSocket-Key`.
    static func upgrade(port: Int, key: String = "dGhlIHNhbXBsZSBub25jZQ==") -> String {
        "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
    }

    /// Requests that must not be upgraded (RFC 6455 §4.2.1), by name; a 101 to any of them is counted.
    static func refusable(port: Int) -> [(name: String, request: String)] {
        let host = "Host: 127.0.0.1:\(port)\r\n"
        let ws = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        return [
            ("HTTP/1.0", "GET \(path) HTTP/1.0\r\n\(host)\(ws)\(key)Sec-WebSocket-Version: 13\r\n\r\n"),
            (
                "no Connection: Upgrade",
                "GET \(path) HTTP/1.1\r\n\(host)Upgrade: websocket\r\n\(key)Sec-WebSocket-Version: 13\r\n\r\n"
            ),
            (
                "no Upgrade",
                "GET \(path) HTTP/1.1\r\n\(host)Connection: Upgrade\r\n\(key)Sec-WebSocket-Version: 13\r\n\r\n"
            ),
            (
                "invalid key",
                "GET \(path) HTTP/1.1\r\n\(host)\(ws)Sec-WebSocket-Key: abc\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ),
            ("no key", "GET \(path) HTTP/1.1\r\n\(host)\(ws)Sec-WebSocket-Version: 13\r\n\r\n"),
            ("version 8", "GET \(path) HTTP/1.1\r\n\(host)\(ws)\(key)Sec-WebSocket-Version: 8\r\n\r\n"),
            ("POST", "POST \(path) HTTP/1.1\r\n\(host)\(ws)\(key)Sec-WebSocket-Version: 13\r\n\r\n"),
            ("no Host", "GET \(path) HTTP/1.1\r\n\(ws)\(key)Sec-WebSocket-Version: 13\r\n\r\n"),
        ]
    }

    /// A malformed or hostile HTTP request: a refusable upgrade, a broken request line, huge or many headers,
    /// control bytes, a bogus body, or a valid request with a few bytes mutated.
    static func malformedRequest(port: Int, random: inout SplitMix64) -> (name: String, bytes: [UInt8]) {
        let valid = Array(upgrade(port: port).utf8)
        switch Int.random(in: 0..<10, using: &random) {
        case 0, 1:
            let choices = refusable(port: port)
            let choice = choices[Int.random(in: 0..<choices.count, using: &random)]
            return (choice.name, Array(choice.request.utf8))
        case 2:
            let lines = [
                "GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", " \r\n\r\n", "\r\n\r\n\r\n",
                "GET \(path) HTTP/1.1\n\n",
            ]
            return ("broken request line", Array(lines[Int.random(in: 0..<lines.count, using: &random)].utf8))
        case 3:
            let long = String(repeating: "a", count: Int.random(in: 10_000...200_000, using: &random))
            return (
                "huge header value", Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: \(long)\r\n\r\n".utf8)
            )
        case 4:
            let headers = (0..<Int.random(in: 200...3_000, using: &random)).map { "X-\($0): v\r\n" }.joined()
            return ("many headers", Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(headers)\r\n".utf8))
        case 5:
            let uri = "/" + String(repeating: "%2e%2e/", count: Int.random(in: 10...20_000, using: &random))
            return ("long or odd URI", Array("GET \(uri) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
        case 6:
            return (
                "control bytes in headers",
                Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: \u{0}\u{1}\u{7f}\r\nBad Header\r\n\r\n".utf8) + [
                    0xFF, 0xFE, 0x00,
                ]
            )
        case 7:
            let bogus = [
                "Content-Length: 99999999999999999999\r\n", "Content-Length: -1\r\n", "Transfer-Encoding: chunked\r\n",
                "Content-Length: 10\r\nContent-Length: 20\r\n",
            ]
            let header = bogus[Int.random(in: 0..<bogus.count, using: &random)]
            let body = (0..<Int.random(in: 0...5_000, using: &random)).map { _ in
                UInt8.random(in: 0...255, using: &random)
            }
            return (
                "bogus body framing", Array("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(header)\r\n".utf8) + body
            )
        default:
            var bytes = valid
            for _ in 0..<Int.random(in: 1...5, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            return ("mutated upgrade", bytes)
        }
    }

    /// Random bytes, sometimes starting like a request.
    static func randomBytes(_ random: inout SplitMix64) -> [UInt8] {
        let bytes = (0..<Int.random(in: 1...16_384, using: &random)).map { _ in
            UInt8.random(in: 0...255, using: &random)
        }
        return Int.random(in: 0..<4, using: &random) == 0 ? Array("GET ".utf8) + bytes : bytes
    }

    /// One WebSocket frame: `opcode`, FIN, RSV bits, masked unless `masked` is false; `declaredLength` (when
    /// set) goes into the header instead of the payload's length.
    static func frame(
        opcode: UInt8, payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0, masked: Bool = true,
        declaredLength: UInt64? = nil, random: inout SplitMix64
    ) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | (rsv & 0x7) << 4 | (opcode & 0x0F)]
        let length = declaredLength ?? UInt64(payload.count)
        let mask: UInt8 = masked ? 0x80 : 0
        if length < 126 {
            bytes.append(mask | UInt8(length))
        } else if length <= 0xFFFF {
            bytes += [mask | 126, UInt8(length >> 8), UInt8(length & 0xFF)]
        } else {
            bytes.append(mask | 127)
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((length >> UInt64(shift)) & 0xFF)) }
        }
        guard masked else { return bytes + payload }
        let key = (0..<4).map { _ in UInt8.random(in: 0...255, using: &random) }
        bytes += key
        bytes += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
        return bytes
    }

    /// Something hostile to send after a successful upgrade, by name.
    static func frameGarbage(_ random: inout SplitMix64) -> (name: String, bytes: [UInt8]) {
        func payload(_ range: ClosedRange<Int>) -> [UInt8] {
            (0..<Int.random(in: range, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
        switch Int.random(in: 0..<10, using: &random) {
        case 0:
            return ("raw bytes", payload(1...8_192))
        case 1:
            return (
                "random binary message (garbage mux frame)",
                frame(opcode: 2, payload: payload(0...4_096), random: &random)
            )
        case 2:
            let opcode = UInt8.random(in: 0...15, using: &random)
            let rsv = UInt8.random(in: 0...7, using: &random)
            return (
                "random opcode and bits",
                frame(
                    opcode: opcode, payload: payload(0...300), fin: Bool.random(using: &random), rsv: rsv,
                    random: &random)
            )
        case 3:
            let declared: [UInt64] = [UInt64.max >> 1, 1 << 40, 64 << 20, 17 << 20]
            return (
                "oversized frame header",
                frame(
                    opcode: 2, payload: payload(0...65_536),
                    declaredLength: declared[Int.random(in: 0..<declared.count, using: &random)], random: &random)
            )
        case 4:
            return ("unmasked frame", frame(opcode: 2, payload: payload(1...512), masked: false, random: &random))
        case 5:
            return ("control frame over 125 bytes", frame(opcode: 9, payload: payload(126...2_000), random: &random))
        case 6:
            let first = frame(opcode: 2, payload: payload(1...1_000), fin: false, random: &random)
            return (
                "unfinished fragments",
                (0..<Int.random(in: 1...50, using: &random)).reduce(first) { bytes, _ in
                    bytes + frame(opcode: 0, payload: payload(1...1_000), fin: false, random: &random)
                }
            )
        case 7:
            return (
                "ping flood",
                (0..<200).reduce([UInt8]()) { bytes, _ in
                    bytes + frame(opcode: 9, payload: payload(0...125), random: &random)
                }
            )
        case 8:
            let code = UInt16.random(in: 0...5_000, using: &random)
            return (
                "close with a random code",
                frame(opcode: 8, payload: [UInt8(code >> 8), UInt8(code & 0xFF)] + payload(0...100), random: &random)
            )
        default:
            return ("text message", frame(opcode: 1, payload: payload(0...2_000), random: &random))
        }
    }
}
