internal import CLZ4

/// LZ4 block-format compression (liblz4, no frame) over raw memory: log blocks, and the wire's compressed frames.
/// Sizes beyond what liblz4 takes (its `Int32` arguments) fail instead of trapping.
package enum LZ4 {
    /// Largest input LZ4 accepts (`LZ4_MAX_INPUT_SIZE`).
    package static let maxInputBytes = 0x7E00_0000

    /// Worst-case compressed size of `count` bytes (0 when `count` is over ``maxInputBytes``).
    package static func bound(_ count: Int) -> Int {
        guard count >= 0, count <= maxInputBytes else { return 0 }
        return Int(LZ4_compressBound(Int32(count)))
    }

    /// Compresses `source` into `destination`; returns the compressed size, or 0 if it did not fit.
    package static func compress(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer
    ) -> Int {
        guard let src = source.baseAddress, let dst = destination.baseAddress, source.count <= maxInputBytes else {
            return 0
        }
        return Int(
            LZ4_compress_default(
                src.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
                Int32(source.count), Int32(clamping: destination.count)))
    }

    /// Decompresses `source` into `destination` (at most its size); returns the bytes written, or a negative
    /// number for malformed input. Never reads or writes out of bounds.
    package static func decompress(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer
    ) -> Int {
        guard let src = source.baseAddress, let dst = destination.baseAddress,
            source.count <= Int(Int32.max), destination.count <= Int(Int32.max)
        else { return -1 }
        return Int(
            LZ4_decompress_safe(
                src.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
                Int32(source.count), Int32(destination.count)))
    }
}
