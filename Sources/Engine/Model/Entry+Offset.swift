public import StreamKitLogFiles

extension Entry {
    /// The exclusive resume token after this entry, for space and multi-space reads.
    public var offset: Offset { Offset(position: position, timestamp: timestamp) }
}
