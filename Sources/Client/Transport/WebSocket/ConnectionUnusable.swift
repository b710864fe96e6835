/// The connection ended or is going away before a stream could open on it: the caller takes another connection.
struct ConnectionUnusable: Error {}
