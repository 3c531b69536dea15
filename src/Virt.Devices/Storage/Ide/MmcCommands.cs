namespace Virt.Devices;

/// <summary>
/// The packet commands the ATAPI CD-ROM implements (SCSI Primary Commands and MMC-3 operation codes), the sense keys
/// and additional sense codes it reports (SPC-3 4.5.6, annex D).
/// </summary>
internal static class MmcCommands
{
    public const int PacketSizeInBytes = 12;

    public const byte TestUnitReady = 0x00;
    public const byte RequestSense = 0x03;
    public const byte Inquiry = 0x12;
    public const byte StartStopUnit = 0x1B;
    public const byte PreventAllowMediumRemoval = 0x1E;
    public const byte ReadCapacity = 0x25;
    public const byte Read10 = 0x28;
    public const byte Seek10 = 0x2B;
    public const byte ReadTocPmaAtip = 0x43;
    public const byte GetConfiguration = 0x46;
    public const byte GetEventStatusNotification = 0x4A;
    public const byte ReadDiscInformation = 0x51;
    public const byte ModeSense10 = 0x5A;
    public const byte Read12 = 0xA8;
    public const byte SetCdSpeed = 0xBB;

    // Sense keys.
    public const byte SenseNone = 0x00;
    public const byte SenseNotReady = 0x02;
    public const byte SenseMediumError = 0x03;
    public const byte SenseIllegalRequest = 0x05;
    public const byte SenseUnitAttention = 0x06;

    // Additional sense codes.
    public const byte AscUnrecoveredReadError = 0x11;
    public const byte AscInvalidCommandOperationCode = 0x20;
    public const byte AscLogicalBlockAddressOutOfRange = 0x21;
    public const byte AscInvalidFieldInCdb = 0x24;
    public const byte AscMediumMayHaveChanged = 0x28;
    public const byte AscSavingParametersNotSupported = 0x39;
    public const byte AscMediumNotPresent = 0x3A;
    public const byte AscMediumRemovalPrevented = 0x53;
    public const byte AscqMediumRemovalPrevented = 0x02;

    // Fixed-format sense data (SPC-3 4.5.3).
    public const byte SenseResponseCurrentFixed = 0x70;
    public const int SenseDataLength = 18;

    // Peripheral device type 05h (CD/DVD), removable medium bit.
    public const byte PeripheralTypeCdDvd = 0x05;
    public const byte InquiryRemovable = 0x80;

    // MMC profiles (MMC-3 5.3.1).
    public const ushort ProfileCdRom = 0x0008;
    public const ushort ProfileDvdRom = 0x0010;

    /// <summary>The blocks of an 80-minute CD (80 x 60 x 75); a bigger medium is reported as a DVD-ROM.</summary>
    public const long CdMaximumBlocks = 80 * 60 * 75;

    // READ TOC: the lead-out track number, the ADR/control byte of a data track (ADR 1, data, copy permitted).
    public const byte LeadOutTrack = 0xAA;
    public const byte TocControlDataTrack = 0x14;

    /// <summary>The two-second pre-gap MSF addresses count from (150 frames at 75 frames a second).</summary>
    public const int MsfOffsetFrames = 150;

    // GET EVENT STATUS NOTIFICATION: the media class (bit 4 of the request), its event codes and status bits.
    public const byte EventClassMedia = 4;
    public const byte EventNoEventAvailable = 0x80;
    public const byte MediaEventNone = 0;
    public const byte MediaEventNewMedia = 2;
    public const byte MediaEventMediaRemoval = 3;
    public const byte MediaStatusPresent = 0x02;
    public const byte MediaStatusTrayOpen = 0x01;

    // MODE SENSE pages.
    public const byte PageReadErrorRecovery = 0x01;
    public const byte PageCdAudioControl = 0x0E;
    public const byte PageCapabilities = 0x2A;
    public const byte PageAll = 0x3F;
}
