import StreamKitProcessing
import StreamKitTestSupport

/// The payload the harness sends for a sequence of a segment: a pure function of the run's seed, the segment and
/// the sequence. A record found in a store can so be checked against what was sent for its sequence, whichever
/// attempt sent it, and a replayed run (same seed) sends the same bytes.
///
/// Mostly 8–207 bytes; one record in a hundred is 4–44 KB, so blocks fill and seal during short runs too. The
/// bytes start with `segment#sequence:` and go on in lowercase letters and digits (readable in a `dump`).
enum ExpectedPayload {
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)

    static func bytes(seed: UInt64, segment: String, sequence: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed ^ FNV1a.hash(segment) ^ (sequence &* 0x9E37_79B9_7F4A_7C15))
        let size = random.next() % 100 == 0 ? Int(random.next() % 40_000) + 4_000 : Int(random.next() % 200) + 8
        var bytes = Array("\(segment)#\(sequence):".utf8)
        bytes.reserveCapacity(size)
        while bytes.count < size {
            var word = random.next()
            for _ in 0..<8 where bytes.count < size {
                bytes.append(alphabet[Int(word % UInt64(alphabet.count))])
                word /= UInt64(alphabet.count)
            }
        }
        return bytes
    }
}
