/// A failure of the harness itself (a store it could not build, a server that would not start): the run
/// cannot go on and ends with a non-zero status.
struct HarnessError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
