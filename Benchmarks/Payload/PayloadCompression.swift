import CLZ4

/// Measures how well LZ4 compresses a payload set, packed the way the `limit` peer packs it: records
/// with a 4-byte length prefix in record-aligned blocks of at most `blockBytes`, one
/// `LZ4_compress_default` per block.
enum PayloadCompression {
    /// Raw block bytes / compressed bytes over the whole set (1 when empty).
    static func lz4Ratio(of payloads: PayloadBuffer, blockBytes: Int = 65_536) -> Double {
        let recordBytes = 4 + payloads.payloadBytes
        let blockBytes = max(blockBytes, recordBytes)
        let recordsPerBlock = blockBytes / recordBytes
        let raw = UnsafeMutableRawPointer.allocate(byteCount: blockBytes, alignment: 16)
        let bound = Int(LZ4_compressBound(Int32(blockBytes)))
        let compressed = UnsafeMutableRawPointer.allocate(byteCount: bound, alignment: 16)
        defer {
            raw.deallocate()
            compressed.deallocate()
        }
        var rawTotal = 0
        var compressedTotal = 0
        payloads.withUnsafeBytes { all in
            guard let base = all.baseAddress else { return }
            var index = 0
            while index < payloads.count {
                let end = min(payloads.count, index + recordsPerBlock)
                var used = 0
                for record in index..<end {
                    raw.storeBytes(of: UInt32(payloads.payloadBytes).littleEndian, toByteOffset: used, as: UInt32.self)
                    (raw + used + 4).copyMemory(
                        from: base + record * payloads.payloadBytes, byteCount: payloads.payloadBytes)
                    used += recordBytes
                }
                let stored = LZ4_compress_default(
                    raw.assumingMemoryBound(to: CChar.self),
                    compressed.assumingMemoryBound(to: CChar.self),
                    Int32(used),
                    Int32(bound)
                )
                rawTotal += used
                compressedTotal += Int(max(stored, 1))
                index = end
            }
        }
        return compressedTotal > 0 ? Double(rawTotal) / Double(compressedTotal) : 1
    }
}
