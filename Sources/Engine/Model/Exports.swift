@_exported public import enum StreamKitLogFiles.Durability
@_exported public import struct StreamKitLogFiles.Entry
@_exported public import enum StreamKitLogFiles.LogRetention
@_exported public import struct StreamKitLogFiles.Payload
@_exported public import struct StreamKitLogFiles.Record
