import Foundation

/// One line of `streamkit dump`'s NDJSON: the fields the harness compares.
struct DumpedEntry: Sendable, Equatable, Decodable {
    var position: UInt64
    var space: String
    var segment: String
    var sequence: UInt64
    var transactionID: String
    var payload: [UInt8]

    private enum CodingKeys: String, CodingKey {
        case position, space, segment, sequence, payload
        case transactionID = "transaction_id"
        case payloadEncoding = "payload_encoding"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        position = try container.decode(UInt64.self, forKey: .position)
        space = try container.decode(String.self, forKey: .space)
        segment = try container.decode(String.self, forKey: .segment)
        sequence = try container.decode(UInt64.self, forKey: .sequence)
        transactionID = try container.decode(String.self, forKey: .transactionID)
        let text = try container.decode(String.self, forKey: .payload)
        if try container.decode(String.self, forKey: .payloadEncoding) == "base64" {
            guard let data = Data(base64Encoded: text) else {
                throw DecodingError.dataCorruptedError(forKey: .payload, in: container, debugDescription: "not base64")
            }
            payload = Array(data)
        } else {
            payload = Array(text.utf8)
        }
    }

    /// The entries of a dump's output and the number of lines that are not an entry (a torn last line, say).
    static func parse(_ output: Data) -> (entries: [DumpedEntry], malformed: Int) {
        let decoder = JSONDecoder()
        var entries: [DumpedEntry] = []
        var malformed = 0
        for line in output.split(separator: 0x0A) where !line.isEmpty {
            if let entry = try? decoder.decode(DumpedEntry.self, from: Data(line)) {
                entries.append(entry)
            } else {
                malformed += 1
            }
        }
        return (entries, malformed)
    }
}
