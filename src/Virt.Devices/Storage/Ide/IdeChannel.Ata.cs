namespace Virt.Devices;

/// <summary>The ATA commands of a hard disk (ATA/ATAPI-7 volume 1, chapter 6).</summary>
internal sealed partial class IdeChannel
{
    private const int Lba28SectorLimit = 256;
    private const int Lba48SectorLimit = 65536;

    private void ExecuteAtaCommand(IdeDrive drive, byte command)
    {
        switch (command)
        {
            case AtaCommands.ReadSectors or AtaCommands.ReadSectorsNoRetry:
                StartAtaRead(drive, ext: false, multiple: false, dma: false);
                break;
            case AtaCommands.ReadSectorsExt:
                StartAtaRead(drive, ext: true, multiple: false, dma: false);
                break;
            case AtaCommands.ReadMultiple:
                StartAtaRead(drive, ext: false, multiple: true, dma: false);
                break;
            case AtaCommands.ReadMultipleExt:
                StartAtaRead(drive, ext: true, multiple: true, dma: false);
                break;
            case AtaCommands.ReadDma or AtaCommands.ReadDmaNoRetry:
                StartAtaRead(drive, ext: false, multiple: false, dma: true);
                break;
            case AtaCommands.ReadDmaExt:
                StartAtaRead(drive, ext: true, multiple: false, dma: true);
                break;
            case AtaCommands.WriteSectors or AtaCommands.WriteSectorsNoRetry:
                StartAtaWrite(drive, ext: false, multiple: false, dma: false);
                break;
            case AtaCommands.WriteSectorsExt:
                StartAtaWrite(drive, ext: true, multiple: false, dma: false);
                break;
            case AtaCommands.WriteMultiple:
                StartAtaWrite(drive, ext: false, multiple: true, dma: false);
                break;
            case AtaCommands.WriteMultipleExt:
                StartAtaWrite(drive, ext: true, multiple: true, dma: false);
                break;
            case AtaCommands.WriteDma or AtaCommands.WriteDmaNoRetry:
                StartAtaWrite(drive, ext: false, multiple: false, dma: true);
                break;
            case AtaCommands.WriteDmaExt:
                StartAtaWrite(drive, ext: true, multiple: false, dma: true);
                break;
            case AtaCommands.ReadVerifySectors or AtaCommands.ReadVerifySectorsNoRetry:
                ReadVerify(drive, ext: false);
                break;
            case AtaCommands.ReadVerifySectorsExt:
                ReadVerify(drive, ext: true);
                break;
            case AtaCommands.IdentifyDevice:
                IdeIdentify.Build(drive, drive.Buffer);
                StartPioIn(drive, IdeIdentify.SizeInBytes);
                break;
            case AtaCommands.SetFeatures:
                SetFeatures(drive);
                break;
            case AtaCommands.SetMultipleMode:
                SetMultipleMode(drive);
                break;
            case AtaCommands.InitializeDeviceParameters:
                InitializeDeviceParameters(drive);
                break;
            case >= AtaCommands.RecalibrateFirst and <= AtaCommands.RecalibrateLast:
                CompleteWithoutData(drive);
                break;
            case >= AtaCommands.SeekFirst and <= AtaCommands.SeekLast:
                Seek(drive);
                break;
            case AtaCommands.FlushCache or AtaCommands.FlushCacheExt:
                FlushCache(drive);
                break;
            default:
                ExecutePowerCommand(drive, command);
                break;
        }
    }

    /// <summary>The power-management commands both kinds of drive accept, or ABRT for anything else.</summary>
    private void ExecutePowerCommand(IdeDrive drive, byte command)
    {
        switch (command)
        {
            case AtaCommands.CheckPowerMode or AtaCommands.CheckPowerModeRetired:
                CompleteWithoutData(drive);
                drive.SectorCount = AtaCommands.PowerModeActiveOrIdle;
                break;
            case AtaCommands.StandbyImmediate or AtaCommands.IdleImmediate or AtaCommands.Standby or AtaCommands.Idle or AtaCommands.Sleep or
                AtaCommands.StandbyImmediateRetired or AtaCommands.IdleImmediateRetired or AtaCommands.StandbyRetired or AtaCommands.IdleRetired or
                AtaCommands.SleepRetired:
                // The drive has no spindle to stop: it stays ready, as a device that left standby on the next command would.
                CompleteWithoutData(drive);
                break;
            default:
                // NOP, PACKET and IDENTIFY PACKET DEVICE on a disk, DEVICE RESET on a disk, SMART, security, anything unknown.
                Fail(drive, AtaRegisters.ErrorAborted);
                break;
        }
    }

    private static bool IsExtCommand(byte command) => command is AtaCommands.ReadSectorsExt or AtaCommands.ReadDmaExt or AtaCommands.ReadMultipleExt or
        AtaCommands.WriteSectorsExt or AtaCommands.WriteDmaExt or AtaCommands.WriteMultipleExt or AtaCommands.ReadVerifySectorsExt;

    /// <summary>
    /// The first sector and the count of the command in the task file: LBA48 from the registers and their HOB copies,
    /// LBA28, or CHS through the current translation. False (IDNF) when the address is not on the disk.
    /// </summary>
    private static bool TryGetRange(IdeDrive drive, bool ext, out long lba, out long count)
    {
        if (ext)
        {
            lba = ((long)drive.HobLbaHigh << 40) | ((long)drive.HobLbaMid << 32) | ((long)drive.HobLbaLow << 24) |
                  ((long)drive.LbaHigh << 16) | ((long)drive.LbaMid << 8) | drive.LbaLow;
            count = (drive.HobSectorCount << 8) | drive.SectorCount;
            count = count == 0 ? Lba48SectorLimit : count;
        }
        else
        {
            count = drive.SectorCount == 0 ? Lba28SectorLimit : drive.SectorCount;
            if ((drive.Device & AtaRegisters.DeviceLba) != 0)
            {
                lba = ((long)(drive.Device & AtaRegisters.DeviceHeadMask) << 24) | ((long)drive.LbaHigh << 16) | ((long)drive.LbaMid << 8) | drive.LbaLow;
            }
            else
            {
                int cylinder = (drive.LbaHigh << 8) | drive.LbaMid;
                int head = drive.Device & AtaRegisters.DeviceHeadMask;
                int sector = drive.LbaLow;
                if (sector == 0 || sector > drive.LogicalSectorsPerTrack || head >= drive.LogicalHeads)
                {
                    lba = 0;
                    return false;
                }

                lba = (((long)cylinder * drive.LogicalHeads) + head) * drive.LogicalSectorsPerTrack + sector - 1;
            }
        }

        return lba + count <= drive.TotalSectors;
    }

    /// <summary>Puts a sector address in the task file in the form the command used (after an error: the failing sector).</summary>
    private static void SetAddress(IdeDrive drive, long lba)
    {
        if (IsExtCommand(drive.Command))
        {
            drive.LbaLow = (byte)lba;
            drive.LbaMid = (byte)(lba >> 8);
            drive.LbaHigh = (byte)(lba >> 16);
            drive.HobLbaLow = (byte)(lba >> 24);
            drive.HobLbaMid = (byte)(lba >> 32);
            drive.HobLbaHigh = (byte)(lba >> 40);
        }
        else if ((drive.Device & AtaRegisters.DeviceLba) != 0)
        {
            drive.LbaLow = (byte)lba;
            drive.LbaMid = (byte)(lba >> 8);
            drive.LbaHigh = (byte)(lba >> 16);
            drive.Device = (byte)((drive.Device & ~AtaRegisters.DeviceHeadMask) | (int)((lba >> 24) & AtaRegisters.DeviceHeadMask));
        }
        else
        {
            int perCylinder = drive.LogicalHeads * drive.LogicalSectorsPerTrack;
            long cylinder = lba / perCylinder;
            int rest = (int)(lba % perCylinder);
            drive.LbaLow = (byte)((rest % drive.LogicalSectorsPerTrack) + 1);
            drive.LbaMid = (byte)cylinder;
            drive.LbaHigh = (byte)(cylinder >> 8);
            drive.Device = (byte)((drive.Device & ~AtaRegisters.DeviceHeadMask) | (rest / drive.LogicalSectorsPerTrack));
        }
    }

    private void FailAddress(IdeDrive drive) => Fail(drive, AtaRegisters.ErrorIdNotFound);

    private bool PrepareTransfer(IdeDrive drive, bool ext, bool multiple)
    {
        if (multiple && drive.MultipleCount == 0)
        {
            // READ/WRITE MULTIPLE before SET MULTIPLE MODE (6.29): aborted.
            Fail(drive, AtaRegisters.ErrorAborted);
            return false;
        }

        if (!TryGetRange(drive, ext, out long lba, out long count))
        {
            FailAddress(drive);
            return false;
        }

        drive.NextLba = lba;
        drive.RemainingSectors = count;
        drive.DmaBytesLeft = count * IdeDriveConfiguration.DiskSectorSize;
        drive.BlockSectors = multiple ? drive.MultipleCount : 1;
        drive.StagingPosition = drive.StagingLength = 0;
        return true;
    }

    private void StartAtaRead(IdeDrive drive, bool ext, bool multiple, bool dma)
    {
        if (!PrepareTransfer(drive, ext, multiple))
        {
            return;
        }

        if (dma)
        {
            StartDma(drive, IdeTransferPhase.DmaIn);
        }
        else
        {
            NextAtaPioReadBlock(drive);
        }
    }

    /// <summary>The next DRQ block of a PIO read, with its interrupt; after the last one the drive is ready without one (PIO data-in protocol, vol 2, 11.3).</summary>
    private void NextAtaPioReadBlock(IdeDrive drive)
    {
        if (drive.DmaBytesLeft == 0)
        {
            long last = drive.NextLba - 1;
            drive.CancelTransfer();
            drive.Status = AtaRegisters.StatusReady | AtaRegisters.StatusSeekComplete;
            SetAddress(drive, last);
            return;
        }

        int length = (int)Math.Min(drive.BlockSectors * (long)IdeDriveConfiguration.DiskSectorSize, drive.DmaBytesLeft);
        try
        {
            Fetch(drive, drive.Buffer.AsSpan(0, length));
        }
        catch (IOException e)
        {
            CountHostError(drive, e);
            Fail(drive, AtaRegisters.ErrorUncorrectable);
            SetAddress(drive, drive.NextLba);
            return;
        }

        drive.DmaBytesLeft -= length;
        StartPioIn(drive, length);
    }

    private void StartAtaWrite(IdeDrive drive, bool ext, bool multiple, bool dma)
    {
        if (!PrepareTransfer(drive, ext, multiple))
        {
            return;
        }

        if (drive.Medium!.IsReadOnly)
        {
            // The backend refuses writes (a read-only image): ATA has no write-protect status for fixed disks; ABRT.
            Fail(drive, AtaRegisters.ErrorAborted);
            SetAddress(drive, drive.NextLba);
            return;
        }

        if (dma)
        {
            StartDma(drive, IdeTransferPhase.DmaOut);
        }
        else
        {
            NextAtaPioWriteBlock(drive, interrupt: false);
        }
    }

    /// <summary>Asks for the next DRQ block of a PIO write; the first comes without an interrupt (PIO data-out protocol, vol 2, 11.4).</summary>
    private void NextAtaPioWriteBlock(IdeDrive drive, bool interrupt)
    {
        int sectors = (int)Math.Min(drive.BlockSectors, drive.RemainingSectors);
        drive.Phase = IdeTransferPhase.PioOut;
        drive.BufferPosition = 0;
        drive.BufferLength = sectors * IdeDriveConfiguration.DiskSectorSize;
        drive.Status = AtaRegisters.StatusReady | AtaRegisters.StatusSeekComplete | AtaRegisters.StatusDataRequest;
        if (interrupt)
        {
            RaiseInterrupt();
        }
    }

    private void AtaPioWriteBlockDone(IdeDrive drive)
    {
        int length = drive.BufferLength;
        try
        {
            drive.Medium!.Write(drive.NextLba * IdeDriveConfiguration.DiskSectorSize, drive.Buffer.AsSpan(0, length));
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            CountHostError(drive, e);
            long failed = drive.NextLba;
            Fail(drive, AtaRegisters.ErrorAborted);
            SetAddress(drive, failed);
            return;
        }

        drive.NextLba += length / IdeDriveConfiguration.DiskSectorSize;
        drive.RemainingSectors -= length / IdeDriveConfiguration.DiskSectorSize;
        if (drive.RemainingSectors > 0)
        {
            NextAtaPioWriteBlock(drive, interrupt: true);
            return;
        }

        long last = drive.NextLba - 1;
        CompleteWithoutData(drive);
        SetAddress(drive, last);
    }

    /// <summary>READ VERIFY SECTORS (6.36): the sectors are read on the host and dropped; no data reaches the guest.</summary>
    private void ReadVerify(IdeDrive drive, bool ext)
    {
        if (!PrepareTransfer(drive, ext, multiple: false))
        {
            return;
        }

        Span<byte> scratch = drive.Buffer;
        while (drive.DmaBytesLeft > 0)
        {
            int length = (int)Math.Min(scratch.Length, drive.DmaBytesLeft);
            try
            {
                Fetch(drive, scratch[..length]);
            }
            catch (IOException e)
            {
                CountHostError(drive, e);
                Fail(drive, AtaRegisters.ErrorUncorrectable);
                SetAddress(drive, drive.NextLba);
                return;
            }

            drive.DmaBytesLeft -= length;
        }

        long last = drive.NextLba - 1;
        CompleteWithoutData(drive);
        SetAddress(drive, last);
    }

    private void Seek(IdeDrive drive)
    {
        if (!TryGetRange(drive, ext: false, out _, out _) && (drive.Device & AtaRegisters.DeviceLba) == 0)
        {
            // A CHS address outside the translation; an LBA seek only positions the heads, so any LBA is accepted.
            FailAddress(drive);
            return;
        }

        CompleteWithoutData(drive);
    }

    private void FlushCache(IdeDrive drive)
    {
        try
        {
            drive.Medium?.Flush();
        }
        catch (IOException e)
        {
            CountHostError(drive, e);
            Fail(drive, AtaRegisters.ErrorAborted);
            return;
        }

        CompleteWithoutData(drive);
    }

    /// <summary>SET FEATURES (6.47): transfer mode, write cache, read look-ahead and reverting to defaults; other subcommands abort.</summary>
    private void SetFeatures(IdeDrive drive)
    {
        switch (drive.Features)
        {
            case AtaCommands.FeatureSetTransferMode:
                byte mode = drive.SectorCount;
                int number = mode & AtaCommands.TransferModeNumberMask;
                bool valid = (mode & AtaCommands.TransferModeTypeMask) switch
                {
                    AtaCommands.TransferModePioDefault => mode is AtaCommands.TransferModePioDefault or AtaCommands.TransferModePioDefaultNoIordy,
                    AtaCommands.TransferModePio => number <= 4,
                    AtaCommands.TransferModeMultiwordDma => number <= 2,
                    AtaCommands.TransferModeUltraDma => number <= 5,
                    _ => false,
                };
                if (!valid)
                {
                    Fail(drive, AtaRegisters.ErrorAborted);
                    return;
                }

                drive.TransferMode = mode;
                break;
            case AtaCommands.FeatureEnableWriteCache:
                drive.WriteCacheEnabled = true;
                break;
            case AtaCommands.FeatureDisableWriteCache:
                drive.WriteCacheEnabled = false;
                break;
            case AtaCommands.FeatureEnableReadLookAhead or AtaCommands.FeatureDisableReadLookAhead or
                AtaCommands.FeatureEnableRevertToDefaults or AtaCommands.FeatureDisableRevertToDefaults:
                break;
            default:
                Fail(drive, AtaRegisters.ErrorAborted);
                return;
        }

        CompleteWithoutData(drive);
    }

    /// <summary>SET MULTIPLE MODE (6.49): 0 disables; otherwise a power of two up to IDENTIFY word 47's maximum.</summary>
    private void SetMultipleMode(IdeDrive drive)
    {
        int count = drive.SectorCount;
        if (count > IdeDrive.MaximumMultipleCount || (count & (count - 1)) != 0)
        {
            Fail(drive, AtaRegisters.ErrorAborted);
            return;
        }

        drive.MultipleCount = count;
        CompleteWithoutData(drive);
    }

    /// <summary>INITIALIZE DEVICE PARAMETERS (ATA-5 8.16): the CHS translation's sectors per track and heads.</summary>
    private void InitializeDeviceParameters(IdeDrive drive)
    {
        int sectors = drive.SectorCount;
        int heads = (drive.Device & AtaRegisters.DeviceHeadMask) + 1;
        if (sectors == 0)
        {
            Fail(drive, AtaRegisters.ErrorAborted);
            return;
        }

        drive.LogicalSectorsPerTrack = sectors;
        drive.LogicalHeads = heads;
        CompleteWithoutData(drive);
    }
}
