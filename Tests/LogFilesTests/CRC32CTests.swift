import Testing

@testable import StreamKitLogFiles

@Suite struct CRC32CTests {
    @Test("CRC32C of \"123456789\" is the standard check value 0xE3069283")
    func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test("hardware and portable CRC32C agree on every length and alignment")
    func hardwareMatchesPortable() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<4099).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes.withUnsafeBytes { all in
            for start in 0..<9 {
                for length in [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4090 - start] {
                    let slice = UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])
                    #expect(CRC32C.checksum(slice) == CRC32C.portable(slice))
                }
            }
        }
    }

    @Test("hardware and portable CRC32C agree on lengths around the interleaved strides (768 and 24,576 bytes)")
    func hardwareMatchesPortableOnLongInputs() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<(3 * 24_576 * 2 + 800)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes.withUnsafeBytes { all in
            for start in [0, 1, 5] {
                for length in [
                    767, 768, 769, 3 * 768 + 7, 24_575, 24_576, 24_577, 2 * 24_576 + 3 * 768 + 13, 3 * 24_576 * 2 + 100,
                ] {
                    let slice = UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])
                    #expect(CRC32C.checksum(slice) == CRC32C.portable(slice), "length \(length) at offset \(start)")
                }
            }
        }
    }

    @Test("CRC32C can be computed in pieces")
    func incremental() {
        let bytes = Array("hello, incremental world".utf8)
        let whole = CRC32C.checksum(bytes)
        let first = CRC32C.checksum(bytes[0..<10])
        #expect(CRC32C.checksum(bytes[10...], continuing: first) == whole)
    }
}
