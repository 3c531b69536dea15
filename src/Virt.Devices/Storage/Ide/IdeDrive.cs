namespace Virt.Devices;

/// <summary>
/// One drive on an IDE channel: its copy of the task file (both drives see every register write; reads come from the
/// selected one), its settings, the transfer in progress and, for an ATAPI drive, its sense data and tray. The
/// command logic is the channel's (<see cref="IdeChannel"/>); this is the drive's state.
/// </summary>
internal sealed class IdeDrive
{
    /// <summary>The largest data block: an ATAPI DRQ block (byte count limit FFFEh) or 16 sectors of READ MULTIPLE.</summary>
    public const int BufferSizeInBytes = 0x10000;

    /// <summary>The most sectors READ/WRITE MULTIPLE moves per DRQ block (IDENTIFY word 47).</summary>
    public const int MaximumMultipleCount = 16;

    /// <summary>The heads of the default CHS geometry (ATA's limit of 16).</summary>
    public const int DefaultHeads = 16;

    /// <summary>The sectors per track of the default CHS geometry (ATA's limit of 63).</summary>
    public const int DefaultSectorsPerTrack = 63;

    /// <summary>The most cylinders IDENTIFY word 1 reports (ATA-6 6.2.1: 16383 for devices above 8.4 GB).</summary>
    public const int MaximumCylinders = 16383;

    public IdeDrive(int position, IdeDriveConfiguration configuration)
    {
        Position = position;
        Media = configuration.Media;
        Medium = configuration.Medium;
        if (Media == IdeMediaKind.Disk)
        {
            TotalSectors = Medium!.CapacityInBytes / IdeDriveConfiguration.DiskSectorSize;
            Cylinders = (int)Math.Clamp(TotalSectors / (DefaultHeads * DefaultSectorsPerTrack), 1, MaximumCylinders);
        }

        PowerOn();
    }

    /// <summary>0-3: primary master, primary slave, secondary master, secondary slave.</summary>
    public int Position { get; }

    public IdeMediaKind Media { get; }

    public bool IsAtapi => Media == IdeMediaKind.Cdrom;

    /// <summary>The host backend: the disk, or the CD in the tray (null when empty).</summary>
    public IBlockDevice? Medium { get; set; }

    /// <summary>A disk's capacity in 512-byte sectors.</summary>
    public long TotalSectors { get; }

    /// <summary>A disk's default cylinders (IDENTIFY word 1).</summary>
    public int Cylinders { get; }

    /// <summary>The bytes of a sector (disk) or block (CD) on this drive.</summary>
    public int BlockSize => IsAtapi ? IdeDriveConfiguration.CdromBlockSize : IdeDriveConfiguration.DiskSectorSize;

    /// <summary>The CD's capacity in 2048-byte blocks (0 without a medium or with the tray open).</summary>
    public long CdBlocks => IsAtapi && Medium is { } m && !TrayOpen ? m.CapacityInBytes / IdeDriveConfiguration.CdromBlockSize : 0;

    // The task file, with the previous value of each register for LBA48 (the "high order byte" copies).
    public byte Features;
    public byte HobFeatures;
    public byte SectorCount;
    public byte HobSectorCount;
    public byte LbaLow;
    public byte HobLbaLow;
    public byte LbaMid;
    public byte HobLbaMid;
    public byte LbaHigh;
    public byte HobLbaHigh;
    public byte Device;
    public byte Status;
    public byte Error;

    // Settings.
    public int MultipleCount;
    public int LogicalHeads;
    public int LogicalSectorsPerTrack;
    public byte TransferMode;
    public bool WriteCacheEnabled;

    // The transfer in progress.
    public IdeTransferPhase Phase;
    public byte Command;
    public readonly byte[] Buffer = new byte[BufferSizeInBytes];
    public int BufferPosition;
    public int BufferLength;
    public int BlockSectors;
    public long NextLba;
    public long RemainingSectors;
    public long DmaBytesLeft;
    public readonly byte[] Staging = new byte[BufferSizeInBytes];
    public int StagingPosition;
    public int StagingLength;

    // ATAPI.
    public byte SenseKey;
    public byte AdditionalSenseCode;
    public byte AdditionalSenseCodeQualifier;
    public bool UnitAttention;
    public bool MediumLocked;
    public byte MediaEvent;
    public int ByteCountLimit;
    public bool TrayOpen;

    /// <summary>Whether the medium is readable now (an ATAPI drive with a disc and the tray closed; a disk always).</summary>
    public bool HasMedium => Medium is not null && !TrayOpen;

    /// <summary>The power-on state: default settings, no transfer, the reset signature.</summary>
    public void PowerOn()
    {
        MultipleCount = 0;
        LogicalHeads = DefaultHeads;
        LogicalSectorsPerTrack = DefaultSectorsPerTrack;
        TransferMode = AtaCommands.TransferModePio | 4;
        WriteCacheEnabled = true;
        SenseKey = MmcCommands.SenseNone;
        AdditionalSenseCode = 0;
        AdditionalSenseCodeQualifier = 0;
        UnitAttention = false;
        MediumLocked = false;
        MediaEvent = MmcCommands.MediaEventNone;
        TrayOpen = false;
        Features = HobFeatures = 0;
        Reset();
    }

    /// <summary>A hardware or software reset: the transfer is dropped and the signature is in the task file.</summary>
    public void Reset()
    {
        CancelTransfer();
        SetSignature();
        Error = AtaRegisters.DiagnosticPassed;
        Status = IsAtapi ? (byte)0 : (byte)(AtaRegisters.StatusReady | AtaRegisters.StatusSeekComplete);
    }

    /// <summary>Puts the device type signature in the task file (ATA/ATAPI-7 vol 2, 9.12).</summary>
    public void SetSignature()
    {
        SectorCount = HobSectorCount = 1;
        LbaLow = HobLbaLow = 1;
        LbaMid = HobLbaMid = IsAtapi ? AtaRegisters.AtapiSignatureMid : (byte)0;
        LbaHigh = HobLbaHigh = IsAtapi ? AtaRegisters.AtapiSignatureHigh : (byte)0;
        Device = AtaRegisters.DeviceObsoleteBits;
    }

    public void CancelTransfer()
    {
        Phase = IdeTransferPhase.None;
        BufferPosition = BufferLength = 0;
        StagingPosition = StagingLength = 0;
        RemainingSectors = 0;
        DmaBytesLeft = 0;
        BlockSectors = 0;
    }

    public IdeDriveState SaveState() => new(
        Media,
        [Features, SectorCount, LbaLow, LbaMid, LbaHigh, HobFeatures, HobSectorCount, HobLbaLow, HobLbaMid, HobLbaHigh, Device, Status, Error],
        MultipleCount,
        LogicalHeads,
        LogicalSectorsPerTrack,
        TransferMode,
        WriteCacheEnabled,
        Phase,
        Command,
        Buffer.AsSpan(0, BufferLength).ToArray(),
        BufferPosition,
        BufferLength,
        BlockSectors,
        NextLba,
        RemainingSectors,
        DmaBytesLeft,
        Staging.AsSpan(StagingPosition, StagingLength - StagingPosition).ToArray(),
        SenseKey,
        AdditionalSenseCode,
        AdditionalSenseCodeQualifier,
        UnitAttention,
        MediumLocked,
        MediaEvent,
        ByteCountLimit,
        TrayOpen);

    /// <summary>Checks a record against this drive without applying it.</summary>
    public void Validate(IdeDriveState state, string where)
    {
        if (state.Media != Media)
        {
            throw new ArgumentException($"{where}.Media is {state.Media}; the drive is a {Media}.", nameof(state));
        }

        if (state.Registers is null || state.Registers.Length != IdeDriveState.RegisterCount)
        {
            throw new ArgumentException($"{where}.Registers must hold {IdeDriveState.RegisterCount} bytes.", nameof(state));
        }

        if (state.Buffer is null || state.Staging is null || state.Buffer.Length != state.BufferLength || state.BufferLength > BufferSizeInBytes ||
            state.BufferPosition < 0 || state.BufferPosition > state.BufferLength || state.Staging.Length > BufferSizeInBytes)
        {
            throw new ArgumentException($"{where}.Buffer, BufferPosition, BufferLength or Staging are inconsistent.", nameof(state));
        }

        if (!Enum.IsDefined(state.Phase) || state.MultipleCount is < 0 or > MaximumMultipleCount || state.LogicalHeads is < 1 or > DefaultHeads ||
            state.LogicalSectorsPerTrack is < 1 or > 255 || state.BlockSectors < 0 || state.RemainingSectors < 0 || state.DmaBytesLeft < 0 || state.NextLba < 0 ||
            state.ByteCountLimit is < 0 or > 0xFFFF)
        {
            throw new ArgumentException($"{where}: Phase, MultipleCount, LogicalHeads, LogicalSectorsPerTrack, BlockSectors, RemainingSectors, DmaBytesLeft, NextLba or ByteCountLimit is out of range.", nameof(state));
        }
    }

    public void Restore(IdeDriveState state)
    {
        byte[] r = state.Registers;
        (Features, SectorCount, LbaLow, LbaMid, LbaHigh) = (r[0], r[1], r[2], r[3], r[4]);
        (HobFeatures, HobSectorCount, HobLbaLow, HobLbaMid, HobLbaHigh) = (r[5], r[6], r[7], r[8], r[9]);
        (Device, Status, Error) = (r[10], r[11], r[12]);
        MultipleCount = state.MultipleCount;
        LogicalHeads = state.LogicalHeads;
        LogicalSectorsPerTrack = state.LogicalSectorsPerTrack;
        TransferMode = state.TransferMode;
        WriteCacheEnabled = state.WriteCacheEnabled;
        Phase = state.Phase;
        Command = state.Command;
        state.Buffer.CopyTo(Buffer, 0);
        BufferPosition = state.BufferPosition;
        BufferLength = state.BufferLength;
        BlockSectors = state.BlockSectors;
        NextLba = state.NextLba;
        RemainingSectors = state.RemainingSectors;
        DmaBytesLeft = state.DmaBytesLeft;
        state.Staging.CopyTo(Staging, 0);
        StagingPosition = 0;
        StagingLength = state.Staging.Length;
        SenseKey = state.SenseKey;
        AdditionalSenseCode = state.AdditionalSenseCode;
        AdditionalSenseCodeQualifier = state.AdditionalSenseCodeQualifier;
        UnitAttention = state.UnitAttention;
        MediumLocked = state.MediumLocked;
        MediaEvent = state.MediaEvent;
        ByteCountLimit = state.ByteCountLimit;
        TrayOpen = state.TrayOpen;
    }
}
