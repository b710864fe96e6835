import StreamKitEngine
import StreamKitTestSupport
import StreamKitWire
import Testing

/// Randomized garbage and mutations of valid frames: decoding gives a message or a typed error, never a trap,
/// and whatever decodes re-encodes to the same message.
struct MutationTests {
    /// A valid frame and, for the header-fixing mutations, its kind and uncompressed body.
    private struct Sample {
        var frame: [UInt8]
        var kind: UInt8
        var body: [UInt8]
    }

    private static let frameCount = 100_000
    private static let seed: UInt64 = 0x5EED_517E_AB1E

    private static func samples() throws -> [Sample] {
        var messages = WireFixtures.everyKind
        let compressible: [Entry] = (0..<30).map { (index: Int) -> Entry in
            let number = UInt64(index + 1)
            let timestamp: Int64 = Int64(index) * 1_000
            return WireFixtures.entry(
                position: number, sequence: number, timestamp: timestamp, ends: index % 10 == 9,
                payload: WireFixtures.compressible(200))
        }
        messages.append(.entries(compressible))
        messages.append(.records(compressible.map { Record(sequence: $0.sequence, payload: Array($0.payload)) }))
        return try messages.map { message in
            let raw = try WireFixtures.encode(message, threshold: .max)
            let header = Self.headerSize(raw)
            return Sample(frame: try WireFixtures.encode(message), kind: raw[1], body: Array(raw[header...]))
        }
    }

    /// Header size of an uncompressed frame: flags, kind and length varints.
    private static func headerSize(_ frame: [UInt8]) -> Int {
        var index = 1
        for _ in 0..<2 {
            while frame[index] >= 0x80 { index += 1 }
            index += 1
        }
        return index
    }

    private static func randomBytes(_ count: Int, _ random: inout SplitMix64) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    /// One to three small damages: bit flips, random bytes, 0xFF runs, insertions, deletions, duplications.
    private static func damage(_ bytes: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let index = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0 where !bytes.isEmpty:
                bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &random)
            case 1 where !bytes.isEmpty:
                bytes[index] = UInt8.random(in: 0...255, using: &random)
            case 2:
                let run = Int.random(in: 1...12, using: &random)
                bytes.insert(contentsOf: [UInt8](repeating: 0xFF, count: run), at: index)
            case 3:
                bytes.insert(UInt8.random(in: 0...255, using: &random), at: index)
            case 4 where !bytes.isEmpty:
                bytes.removeSubrange(index..<min(bytes.count, index + Int.random(in: 1...8, using: &random)))
            default:
                let end = min(bytes.count, index + Int.random(in: 1...16, using: &random))
                bytes.insert(contentsOf: bytes[index..<end], at: index)
            }
        }
        return bytes
    }

    private static func mutant(_ samples: [Sample], _ random: inout SplitMix64) -> [UInt8] {
        let sample = samples[Int.random(in: 0..<samples.count, using: &random)]
        let kinds = WireMessageKind.allCases
        switch Int.random(in: 0..<8, using: &random) {
        case 0:
            // Pure garbage.
            return randomBytes(Int.random(in: 0..<64, using: &random), &random)
        case 1:
            // A valid header in front of a garbage body.
            let kind = kinds[Int.random(in: 0..<kinds.count, using: &random)].rawValue
            return WireFixtures.frame(kind: kind, body: randomBytes(Int.random(in: 0..<48, using: &random), &random))
        case 2:
            // Bit flips anywhere in a valid frame.
            var frame = sample.frame
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                frame[Int.random(in: 0..<frame.count, using: &random)] ^= 1 << UInt8.random(in: 0..<8, using: &random)
            }
            return frame
        case 3:
            // Truncation.
            return Array(sample.frame[0..<Int.random(in: 0..<sample.frame.count, using: &random)])
        case 4:
            // Length inflation: the header promises more (or, compressed, a bigger raw size) than there is.
            let extra = [1, 2, 100, 1 << 20, 1 << 31, Int.max >> 1][Int.random(in: 0..<6, using: &random)]
            if Bool.random(using: &random) {
                var frame = [0, sample.kind] + WireFixtures.varint(UInt64(sample.body.count + extra))
                frame += sample.body
                return frame
            }
            return WireFixtures.frame(
                kind: sample.kind, flags: 1, body: Array(sample.frame.dropFirst(3)),
                rawLength: sample.body.count + extra)
        case 5, 6:
            // Damage inside the body with a correct header, so body decoding sees it.
            return WireFixtures.frame(kind: sample.kind, body: damage(sample.body, &random))
        default:
            // A body under another kind's header, or cut short with a correct header.
            if Bool.random(using: &random) {
                let kind = kinds[Int.random(in: 0..<kinds.count, using: &random)].rawValue
                return WireFixtures.frame(kind: kind, body: sample.body)
            }
            let cut = Int.random(in: 0...sample.body.count, using: &random)
            return WireFixtures.frame(kind: sample.kind, body: Array(sample.body[0..<cut]))
        }
    }

    @Test("100,000 random and mutated frames decode to a message or a typed error, never a trap")
    func randomAndMutatedFramesNeverTrap() throws {
        let samples = try Self.samples()
        var random = SplitMix64(seed: Self.seed)
        let decoder = WireDecoder()
        var encoder = WireEncoder()
        var decoded = 0
        var errors: [String: Int] = [:]
        for iteration in 0..<Self.frameCount {
            let frame = Self.mutant(samples, &random)
            let message: WireMessage
            do {
                message = try decoder.decode(frame: frame)
            } catch {
                errors[error.code.description, default: 0] += 1
                continue
            }
            decoded += 1
            // Whatever decodes is a valid message: it re-encodes and decodes to itself (NaN aside).
            guard message == message else { continue }
            do {
                let again = try decoder.decode(frame: encoder.encode(message))
                if again != message { Issue.record("iteration \(iteration): \(message.kind) changed on re-encoding") }
            } catch {
                Issue.record("iteration \(iteration): re-encoding \(message.kind) failed: \(error)")
            }
        }
        #expect(decoded + errors.values.reduce(0, +) == Self.frameCount)
        // The mutations reach every layer: some frames still decode, and each kind of failure shows up.
        #expect(decoded > 1_000)
        for code in [WireError.Code.truncated, .malformed, .tooLarge, .unknownKind, .invalidUTF8, .compression] {
            #expect(errors[code.description, default: 0] > 0, "no \(code) error in \(errors)")
        }
    }

    @Test("every valid frame cut at every length and every single bit flipped decodes or fails typed")
    func exhaustiveSmallDamage() throws {
        let decoder = WireDecoder()
        for sample in try Self.samples() where sample.frame.count <= 512 {
            for bit in 0..<(sample.frame.count * 8) {
                var frame = sample.frame
                frame[bit / 8] ^= 1 << UInt8(bit % 8)
                _ = try? decoder.decode(frame: frame)
            }
        }
    }
}
