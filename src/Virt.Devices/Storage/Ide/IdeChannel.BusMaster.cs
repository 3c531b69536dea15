using System.Buffers.Binary;

namespace Virt.Devices;

/// <summary>
/// The channel's bus-master IDE registers and DMA engine (Intel 82371SB PIIX3 datasheet, 2.7 "Bus Master IDE", and
/// the SFF-8038i programming interface): command (start, direction), status (active, error, interrupt, drive DMA
/// capable) and the physical region descriptor table pointer. A PRD is a dword-aligned base address and a byte count
/// (0 = 64 KiB) with end-of-table in bit 31.
/// </summary>
internal sealed partial class IdeChannel
{
    public const byte BusMasterCommandStart = 0x01;
    public const byte BusMasterCommandWriteToMemory = 0x08;
    public const byte BusMasterStatusActive = 0x01;
    public const byte BusMasterStatusError = 0x02;
    public const byte BusMasterStatusInterrupt = 0x04;
    public const byte BusMasterStatusDrive0DmaCapable = 0x20;
    public const byte BusMasterStatusDrive1DmaCapable = 0x40;

    /// <summary>The bus-master registers of one channel: command at 0, status at 2, PRD table pointer at 4-7.</summary>
    public const int BusMasterRegisterCount = 8;

    private const int BusMasterCommandOffset = 0;
    private const int BusMasterStatusOffset = 2;
    private const int PrdTableOffset = 4;
    private const uint PrdAddressMask = 0xFFFF_FFFC;
    private const uint PrdEndOfTable = 0x8000_0000;
    private const int PrdSizeInBytes = 8;
    private const int PrdByteCountMask = 0xFFFF;
    private const int PrdMaximumByteCount = 0x10000;

    /// <summary>A table may not cross a 64 KiB boundary, so it has at most 8192 entries; a longer walk ends as if at EOT.</summary>
    private const int PrdMaximumEntries = 0x10000 / PrdSizeInBytes;

    private readonly byte[] _dmaChunk = new byte[IdeDrive.BufferSizeInBytes];

    public byte BusMasterCommand { get; private set; }

    public byte BusMasterStatus { get; private set; }

    public uint PrdTableAddress { get; private set; }

    /// <summary>DMA transfers refused because bus mastering was disabled (the bus-master error bit was set).</summary>
    public long BusMasterRefusedCount { get; private set; }

    public byte ReadBusMaster(int offset) => offset switch
    {
        BusMasterCommandOffset => BusMasterCommand,
        BusMasterStatusOffset => BusMasterStatus,
        >= PrdTableOffset and < PrdTableOffset + 4 => (byte)(PrdTableAddress >> (8 * (offset - PrdTableOffset))),
        _ => 0,
    };

    public void WriteBusMaster(int offset, byte value)
    {
        switch (offset)
        {
            case BusMasterCommandOffset:
                bool wasStarted = (BusMasterCommand & BusMasterCommandStart) != 0;
                BusMasterCommand = (byte)(value & (BusMasterCommandStart | BusMasterCommandWriteToMemory));
                if ((value & BusMasterCommandStart) == 0)
                {
                    // Stopping the engine ends the DMA; a drive still waiting for data keeps its command until reset.
                    BusMasterStatus &= unchecked((byte)~BusMasterStatusActive);
                }
                else if (!wasStarted)
                {
                    BusMasterStatus |= BusMasterStatusActive;
                    RunDma();
                }

                break;
            case BusMasterStatusOffset:
                byte capable = BusMasterStatusDrive0DmaCapable | BusMasterStatusDrive1DmaCapable;
                byte cleared = (byte)(value & (BusMasterStatusError | BusMasterStatusInterrupt));
                BusMasterStatus = (byte)(((BusMasterStatus & ~capable) | (value & capable)) & ~cleared);
                break;
            case >= PrdTableOffset and < PrdTableOffset + 4:
                int shift = 8 * (offset - PrdTableOffset);
                uint address = (PrdTableAddress & ~(0xFFu << shift)) | ((uint)value << shift);
                PrdTableAddress = address & PrdAddressMask;
                break;
        }
    }

    /// <summary>A drive's DMA command is set up: it runs now if the engine is started, or when the guest starts it.</summary>
    private void StartDma(IdeDrive drive, IdeTransferPhase phase)
    {
        drive.Phase = phase;
        drive.Status = AtaRegisters.StatusReady | AtaRegisters.StatusSeekComplete | AtaRegisters.StatusDataRequest;
        RunDma();
    }

    private void RunDma()
    {
        if ((BusMasterCommand & BusMasterCommandStart) == 0 || (BusMasterStatus & BusMasterStatusActive) == 0 || _busMaster is null)
        {
            return;
        }

        IdeDrive? drive = Selected is { Phase: IdeTransferPhase.DmaIn or IdeTransferPhase.DmaOut } selected ? selected
            : Array.Find(_drives, d => d is { Phase: IdeTransferPhase.DmaIn or IdeTransferPhase.DmaOut });
        if (drive is null)
        {
            return;
        }

        bool toMemory = drive.Phase == IdeTransferPhase.DmaIn;
        Span<byte> entry = stackalloc byte[PrdSizeInBytes];
        ulong table = PrdTableAddress;
        bool endOfTable = false;
        bool tableConsumed = false;
        for (int entries = 0; drive.DmaBytesLeft > 0 && !endOfTable && entries < PrdMaximumEntries; entries++)
        {
            if (!_busMaster.Read(table + (ulong)(entries * PrdSizeInBytes), entry))
            {
                BusMasterRefused(drive);
                return;
            }

            uint baseAddress = BinaryPrimitives.ReadUInt32LittleEndian(entry) & ~1u;
            uint control = BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]);
            int count = (int)(control & PrdByteCountMask);
            count = count == 0 ? PrdMaximumByteCount : count;
            endOfTable = (control & PrdEndOfTable) != 0;
            int moved = 0;
            while (moved < count && drive.DmaBytesLeft > 0)
            {
                int length = (int)Math.Min(Math.Min(count - moved, drive.DmaBytesLeft), _dmaChunk.Length);
                Span<byte> chunk = _dmaChunk.AsSpan(0, length);
                ulong address = baseAddress + (ulong)moved;
                if (toMemory)
                {
                    if (!TryFetchForDma(drive, chunk))
                    {
                        return;
                    }

                    if (!_busMaster.Write(address, chunk))
                    {
                        BusMasterRefused(drive);
                        return;
                    }
                }
                else
                {
                    if (!_busMaster.Read(address, chunk))
                    {
                        BusMasterRefused(drive);
                        return;
                    }

                    if (!TryStoreForDma(drive, chunk))
                    {
                        return;
                    }
                }

                moved += length;
                drive.DmaBytesLeft -= length;
            }

            tableConsumed = endOfTable && moved == count;
        }

        if (drive.DmaBytesLeft > 0)
        {
            // The table ended before the drive did: active clears without an interrupt and the drive keeps waiting (PIIX3 2.7.3, BMISX table).
            BusMasterStatus &= unchecked((byte)~BusMasterStatusActive);
            return;
        }

        if (!toMemory && drive.StagingLength > 0 && !TryCommitStaging(drive))
        {
            return;
        }

        if (tableConsumed)
        {
            // Active clears when the last region is done; a table longer than the transfer leaves it set until the guest stops the engine.
            BusMasterStatus &= unchecked((byte)~BusMasterStatusActive);
        }

        if (drive.IsAtapi)
        {
            CompletePacketCommand(drive);
        }
        else
        {
            long last = drive.NextLba - 1;
            CompleteWithoutData(drive);
            SetAddress(drive, last);
        }
    }

    private bool TryFetchForDma(IdeDrive drive, Span<byte> chunk)
    {
        try
        {
            Fetch(drive, chunk);
            return true;
        }
        catch (IOException e)
        {
            CountHostError(drive, e);
            BusMasterStatus &= unchecked((byte)~BusMasterStatusActive);
            if (drive.IsAtapi)
            {
                CheckCondition(drive, MmcCommands.SenseMediumError, MmcCommands.AscUnrecoveredReadError);
            }
            else
            {
                long failed = drive.NextLba;
                Fail(drive, AtaRegisters.ErrorUncorrectable);
                SetAddress(drive, failed);
            }

            return false;
        }
    }

    /// <summary>Collects written bytes and writes them to the medium in whole staging buffers.</summary>
    private bool TryStoreForDma(IdeDrive drive, ReadOnlySpan<byte> chunk)
    {
        while (!chunk.IsEmpty)
        {
            int length = Math.Min(chunk.Length, drive.Staging.Length - drive.StagingLength);
            chunk[..length].CopyTo(drive.Staging.AsSpan(drive.StagingLength));
            drive.StagingLength += length;
            chunk = chunk[length..];
            if (drive.StagingLength == drive.Staging.Length && !TryCommitStaging(drive))
            {
                return false;
            }
        }

        return true;
    }

    private bool TryCommitStaging(IdeDrive drive)
    {
        int length = drive.StagingLength;
        try
        {
            drive.Medium!.Write(drive.NextLba * IdeDriveConfiguration.DiskSectorSize, drive.Staging.AsSpan(0, length));
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            CountHostError(drive, e);
            BusMasterStatus &= unchecked((byte)~BusMasterStatusActive);
            long failed = drive.NextLba;
            Fail(drive, AtaRegisters.ErrorAborted);
            SetAddress(drive, failed);
            return false;
        }

        drive.NextLba += length / IdeDriveConfiguration.DiskSectorSize;
        drive.RemainingSectors -= length / IdeDriveConfiguration.DiskSectorSize;
        drive.StagingLength = 0;
        return true;
    }

    /// <summary>The function may not master the bus (PCI command bit 2 clear): the bus-master error bit, and the command aborts.</summary>
    private void BusMasterRefused(IdeDrive drive)
    {
        BusMasterRefusedCount++;
        BusMasterStatus = (byte)((BusMasterStatus | BusMasterStatusError) & ~BusMasterStatusActive);
        if (drive.IsAtapi)
        {
            CheckCondition(drive, MmcCommands.SenseIllegalRequest, MmcCommands.AscInvalidFieldInCdb);
        }
        else
        {
            Fail(drive, AtaRegisters.ErrorAborted);
        }
    }
}
