namespace Virt.Devices;

/// <summary>The saved state of one IDE channel: the device control register, the selection, the interrupt and the bus-master registers.</summary>
/// <param name="DeviceControl">The device control register (nIEN, SRST, HOB).</param>
/// <param name="SelectedDrive">0 (master) or 1 (slave).</param>
/// <param name="InterruptPending">Whether INTRQ is pending (cleared by reading the status register).</param>
/// <param name="BusMasterCommand">The bus-master IDE command register (start, direction).</param>
/// <param name="BusMasterStatus">The bus-master IDE status register (active, error, interrupt, drive DMA capable).</param>
/// <param name="PrdTableAddress">The physical region descriptor table pointer.</param>
/// <param name="Drives">The master's and the slave's state, null where no drive is attached.</param>
public sealed record IdeChannelState(
    byte DeviceControl,
    int SelectedDrive,
    bool InterruptPending,
    byte BusMasterCommand,
    byte BusMasterStatus,
    uint PrdTableAddress,
    IdeDriveState?[] Drives);
