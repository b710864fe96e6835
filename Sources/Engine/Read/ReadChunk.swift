import StreamKitLogFiles

/// What a read hands a sender that ships stored blocks as they are: an entry, or a stretch of a sealed block as
/// stored (the entries at indices `range` of the block are the read's next ones, all of them).
package enum ReadChunk: Sendable {
    case entry(Entry)
    case block(StoredBlock, Range<Int>)
}
