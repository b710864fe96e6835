/// A full block queued for the sealer. The WAL holder, when it runs out of block buffers, compresses queued
/// blocks the sealer has not reached yet instead of sleeping (see `CommitWorker.queueForSealer`); the sealer
/// writes jobs strictly in queue order, compressing those nobody did.
///
/// `claimed` and `compressed` are guarded by the commit lock; `header` and `output` belong to the thread that
/// claimed the job until it sets `compressed`, and are read-only after.
final class SealJob {
    let block: RawBlock
    /// Someone (the sealer or the builder) is compressing the block or has.
    var claimed = false
    /// The builder compressed it: `header` and `output` hold the sealed block, and the raw buffer is back in
    /// the pool.
    var compressed = false
    var header: BlockHeader?
    var output: RawBuffer?

    init(block: RawBlock) { self.block = block }
}
