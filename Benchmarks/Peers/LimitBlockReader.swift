import CLZ4

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a `LimitBlockWriter` file sequentially: large `read(2)` calls into one reused buffer, one
/// `LZ4_decompress_safe` per block, then a walk over the record length prefixes.
struct LimitBlockReader: ~Copyable {
    static let readChunkBytes = 4 << 20

    let path: String
    let blockBytes: Int
    private let fd: Int32
    private let input: UnsafeMutableRawPointer
    private let inputCapacity: Int
    private let raw: UnsafeMutableRawPointer

    init(path: String, blockBytes: Int) throws(PeerError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        self.fd = fd
        self.path = path
        self.blockBytes = blockBytes
        self.inputCapacity =
            Self.readChunkBytes + LimitBlockWriter.headerBytes + Int(LZ4_compressBound(Int32(blockBytes)))
        self.input = UnsafeMutableRawPointer.allocate(byteCount: inputCapacity, alignment: 16)
        self.raw = UnsafeMutableRawPointer.allocate(byteCount: blockBytes, alignment: 16)
    }

    deinit {
        close(fd)
        input.deallocate()
        raw.deallocate()
    }

    /// Reads every block; returns the record count and the sum of record lengths.
    /// `onBlock` gets the running record count after each block (for progress).
    mutating func scan(onBlock: (Int) -> Void) throws(PeerError) -> (records: Int, payloadBytes: Int) {
        var records = 0
        var payloadBytes = 0
        var filled = 0
        var endOfFile = false
        while true {
            // Refill: read until the chunk is full or the file ends.
            while !endOfFile, filled < Self.readChunkBytes {
                let count = read(fd, input + filled, inputCapacity - filled)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw .io(operation: "read", path: path, errno: errno)
                }
                if count == 0 { endOfFile = true } else { filled += count }
            }
            var offset = 0
            while filled - offset >= LimitBlockWriter.headerBytes {
                let rawLength = Int(UInt32(littleEndian: input.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                let storedLength = Int(
                    UInt32(littleEndian: input.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)))
                guard rawLength <= blockBytes, storedLength > 0,
                    LimitBlockWriter.headerBytes + storedLength <= inputCapacity
                else {
                    throw .corruptFile(
                        path: path, detail: "bad block header (raw \(rawLength), stored \(storedLength))")
                }
                guard filled - offset >= LimitBlockWriter.headerBytes + storedLength else { break }
                let produced = LZ4_decompress_safe(
                    (input + offset + LimitBlockWriter.headerBytes).assumingMemoryBound(to: CChar.self),
                    raw.assumingMemoryBound(to: CChar.self),
                    Int32(storedLength),
                    Int32(blockBytes)
                )
                guard Int(produced) == rawLength else {
                    throw .compression(
                        path: path, detail: "LZ4_decompress_safe returned \(produced), expected \(rawLength)")
                }
                var position = 0
                while position + 4 <= rawLength {
                    let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
                    payloadBytes += length
                    records += 1
                    position += 4 + length
                }
                guard position == rawLength else {
                    throw .corruptFile(path: path, detail: "records overrun their block")
                }
                offset += LimitBlockWriter.headerBytes + storedLength
                onBlock(records)
            }
            if endOfFile {
                guard offset == filled else {
                    throw .corruptFile(path: path, detail: "\(filled - offset) trailing bytes")
                }
                return (records, payloadBytes)
            }
            // Keep the partial block at the front and read more behind it.
            if offset > 0 {
                memmove(input, input + offset, filled - offset)
                filled -= offset
            }
        }
    }
}
