namespace Virt.Devices;

/// <summary>What an IDE drive is doing with its data port or the bus master (part of its saved state).</summary>
public enum IdeTransferPhase
{
    /// <summary>No transfer: the drive waits for a command.</summary>
    None,

    /// <summary>PIO data in: the guest reads the buffer through the data port (DRQ set).</summary>
    PioIn,

    /// <summary>PIO data out: the guest fills the buffer through the data port (DRQ set).</summary>
    PioOut,

    /// <summary>An ATAPI drive waits for the 12 bytes of a command packet.</summary>
    Packet,

    /// <summary>The drive waits for the bus master to move data from the device to memory.</summary>
    DmaIn,

    /// <summary>The drive waits for the bus master to move data from memory to the device.</summary>
    DmaOut,
}
