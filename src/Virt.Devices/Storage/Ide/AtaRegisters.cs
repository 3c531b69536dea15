namespace Virt.Devices;

/// <summary>
/// The ATA register file: offsets of the command block, and the bits of the status, error, device and device control
/// registers (ATA/ATAPI-7 volume 1, chapter 7; volume 2 for the packet interface).
/// </summary>
internal static class AtaRegisters
{
    public const int Data = 0;
    public const int ErrorOrFeatures = 1;
    public const int SectorCount = 2;
    public const int LbaLow = 3;
    public const int LbaMid = 4;
    public const int LbaHigh = 5;
    public const int Device = 6;
    public const int StatusOrCommand = 7;

    /// <summary>The number of ports of a command block.</summary>
    public const int CommandBlockSize = 8;

    // Status register (7.15).
    public const byte StatusBusy = 0x80;
    public const byte StatusReady = 0x40;
    public const byte StatusDeviceFault = 0x20;
    public const byte StatusSeekComplete = 0x10;
    public const byte StatusDataRequest = 0x08;
    public const byte StatusError = 0x01;

    // Error register (7.9): ATA meanings; an ATAPI device puts its sense key in bits 7-4.
    public const byte ErrorUncorrectable = 0x40;
    public const byte ErrorIdNotFound = 0x10;
    public const byte ErrorAborted = 0x04;

    /// <summary>The diagnostic code after a reset or EXECUTE DEVICE DIAGNOSTIC: device 0 passed (and device 1 too or absent).</summary>
    public const byte DiagnosticPassed = 0x01;

    // Device register (7.7): bit 6 LBA, bit 4 DEV; bits 7 and 5 are obsolete and read as ones on many devices.
    public const byte DeviceLba = 0x40;
    public const byte DeviceSelect = 0x10;
    public const byte DeviceObsoleteBits = 0xA0;
    public const byte DeviceHeadMask = 0x0F;

    // Device control register (7.8): HOB, SRST, nIEN.
    public const byte ControlHighOrderByte = 0x80;
    public const byte ControlSoftwareReset = 0x04;
    public const byte ControlInterruptDisable = 0x02;

    // ATAPI interrupt reason in the sector count register (ATA/ATAPI-7 vol 2, 5.3): CoD, IO, REL.
    public const byte ReasonCommandOrData = 0x01;
    public const byte ReasonInputOutput = 0x02;

    // Signatures after reset (ATA/ATAPI-7 vol 2, 9.12): sector count 1, LBA low 1, LBA mid/high 00h/00h (ATA) or 14h/EBh (ATAPI).
    public const byte AtapiSignatureMid = 0x14;
    public const byte AtapiSignatureHigh = 0xEB;

    // PACKET features (vol 2, 6.18): bit 0 DMA.
    public const byte PacketFeatureDma = 0x01;
}
