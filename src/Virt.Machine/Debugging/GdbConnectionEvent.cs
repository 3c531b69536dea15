namespace Virt.Machine.Debugging;

/// <summary>What <see cref="GdbConnection.Receive"/> found.</summary>
internal enum GdbConnectionEvent
{
    /// <summary>Nothing yet (time passed) or the connection closed.</summary>
    None,

    /// <summary>A packet with a valid checksum.</summary>
    Packet,

    /// <summary>The interrupt byte 0x03 (gdb's Ctrl-C) outside a packet.</summary>
    Interrupt,
}
