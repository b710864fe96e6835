// The StreamKitProcessing module: operators over any AsyncSequence.
