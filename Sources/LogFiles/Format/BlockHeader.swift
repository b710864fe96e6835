/// The 64-byte header in front of every log block.
///
/// ```
/// off size field
///   0   4  magic "SKBK"
///   4   1  codec (0 = stored raw, 1 = LZ4 block format)
///   5   1  flags (0)
///   6   2  header length (64)
///   8   4  raw length (bytes of records before compression)
///  12   4  stored length (bytes that follow the header)
///  16   4  CRC32C of the stored bytes
///  20   4  entry count
///  24   8  first position
///  32   8  min timestamp
///  40   8  max timestamp
///  48  12  reserved, 0
///  60   4  CRC32C of bytes 0..<60
/// ```
public struct BlockHeader: Hashable, Sendable {
    /// How a block's records are stored.
    public enum Codec: UInt8, Sendable {
        /// Records stored as they are.
        case raw = 0
        /// Records compressed with the LZ4 block format.
        case lz4 = 1
    }

    package static let size = 64
    static let magic: UInt32 = 0x4B42_4B53  // "SKBK" little-endian

    /// How the records are stored.
    public var codec: Codec
    /// Bytes of records before compression.
    public var rawLength: Int
    /// Bytes stored after the header.
    public var storedLength: Int
    /// CRC32C of the stored bytes.
    public var checksum: UInt32
    /// Number of entries.
    public var entryCount: Int
    /// Position of the first entry.
    public var firstPosition: UInt64
    /// Smallest entry timestamp.
    public var minTimestamp: Int64
    /// Largest entry timestamp.
    public var maxTimestamp: Int64

    /// Position of the last entry.
    public var lastPosition: UInt64 { firstPosition + UInt64(entryCount) - 1 }

    /// A header from its fields (checked where it is used: ``BlockCodec`` checks the block against it).
    package init(
        codec: Codec, rawLength: Int, storedLength: Int, checksum: UInt32, entryCount: Int, firstPosition: UInt64,
        minTimestamp: Int64, maxTimestamp: Int64
    ) {
        self.codec = codec
        self.rawLength = rawLength
        self.storedLength = storedLength
        self.checksum = checksum
        self.entryCount = entryCount
        self.firstPosition = firstPosition
        self.minTimestamp = minTimestamp
        self.maxTimestamp = maxTimestamp
    }

    func encode(into p: UnsafeMutableRawPointer) {
        p.initializeMemory(as: UInt8.self, repeating: 0, count: Self.size)
        p.storeLE(Self.magic, at: 0)
        p.storeBytes(of: codec.rawValue, toByteOffset: 4, as: UInt8.self)
        p.storeLE(UInt16(Self.size), at: 6)
        p.storeLE(UInt32(rawLength), at: 8)
        p.storeLE(UInt32(storedLength), at: 12)
        p.storeLE(checksum, at: 16)
        p.storeLE(UInt32(entryCount), at: 20)
        p.storeLE(firstPosition, at: 24)
        p.storeLE(minTimestamp, at: 32)
        p.storeLE(maxTimestamp, at: 40)
        p.storeLE(CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 60)), at: 60)
    }

    /// Decodes a header, or explains why the bytes are not one.
    static func decode(_ p: UnsafeRawPointer) -> Result<BlockHeader, BlockHeaderProblem> {
        guard p.le(0, as: UInt32.self) == magic else { return .failure(.badMagic) }
        guard p.le(60, as: UInt32.self) == CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 60)) else {
            return .failure(.badChecksum)
        }
        guard let codec = Codec(rawValue: p.load(fromByteOffset: 4, as: UInt8.self)),
            p.le(6, as: UInt16.self) == UInt16(size)
        else { return .failure(.unsupported) }
        let header = BlockHeader(
            codec: codec, rawLength: Int(p.le(8, as: UInt32.self)), storedLength: Int(p.le(12, as: UInt32.self)),
            checksum: p.le(16), entryCount: Int(p.le(20, as: UInt32.self)), firstPosition: p.le(24),
            minTimestamp: p.le(32), maxTimestamp: p.le(40))
        guard header.entryCount > 0, header.firstPosition > 0, header.minTimestamp <= header.maxTimestamp,
            codec != .raw || header.rawLength == header.storedLength
        else { return .failure(.inconsistent) }
        return .success(header)
    }
}

/// Why bytes at a block offset are not a valid block header.
enum BlockHeaderProblem: Error, CustomStringConvertible {
    case badMagic, badChecksum, unsupported, inconsistent

    var description: String {
        switch self {
        case .badMagic: "bad block magic"
        case .badChecksum: "block header checksum mismatch"
        case .unsupported: "unknown block codec or header length"
        case .inconsistent: "block header fields are inconsistent"
        }
    }
}
