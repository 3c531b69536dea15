using System.Buffers.Binary;
using System.Text;

namespace Virt.Devices;

/// <summary>
/// The ATAPI CD-ROM drive: the ATA commands a packet device accepts, the PACKET protocol (ATA/ATAPI-7 vol 2, 11.8 and
/// 11.9: byte count limit, interrupt reason, DMA) and the MMC commands El Torito boot code and Linux's <c>sr</c> use.
/// </summary>
internal sealed partial class IdeChannel
{
    private const int InquiryLength = 36;
    private const int ReadCapacityLength = 8;
    private const int DiscInformationLength = 34;
    private const int ModeHeaderLength = 8;
    private const ushort MaximumEvenByteCount = 0xFFFE;
    private const string InquiryVendor = "VIRT";
    private const string InquiryProduct = "DVD-ROM";
    private const string InquiryRevision = "1.0";

    private void ExecuteAtapiDeviceCommand(IdeDrive drive, byte command)
    {
        switch (command)
        {
            case AtaCommands.Packet:
                StartPacket(drive);
                break;
            case AtaCommands.IdentifyPacketDevice:
                IdeIdentify.Build(drive, drive.Buffer);
                StartPioIn(drive, IdeIdentify.SizeInBytes);
                break;
            case AtaCommands.DeviceReset:
                // DEVICE RESET (6.10): the signature, DRDY clear, and no interrupt.
                drive.Reset();
                break;
            case AtaCommands.IdentifyDevice:
                // A packet device aborts IDENTIFY DEVICE and shows its signature, which is how hosts tell it from a disk (6.17).
                Fail(drive, AtaRegisters.ErrorAborted);
                drive.SetSignature();
                break;
            case AtaCommands.SetFeatures:
                SetFeatures(drive);
                break;
            case AtaCommands.FlushCache:
                CompleteWithoutData(drive);
                break;
            default:
                ExecutePowerCommand(drive, command);
                break;
        }
    }

    /// <summary>PACKET (6.18): the drive asks for the 12 command bytes (DRQ, interrupt reason CoD) without an interrupt.</summary>
    private void StartPacket(IdeDrive drive)
    {
        drive.ByteCountLimit = (drive.LbaHigh << 8) | drive.LbaMid;
        drive.Phase = IdeTransferPhase.Packet;
        drive.BufferPosition = 0;
        drive.BufferLength = MmcCommands.PacketSizeInBytes;
        drive.SectorCount = AtaRegisters.ReasonCommandOrData;
        drive.Status = AtaRegisters.StatusReady | AtaRegisters.StatusDataRequest;
    }

    private void ExecutePacket(IdeDrive drive)
    {
        Span<byte> p = stackalloc byte[MmcCommands.PacketSizeInBytes];
        drive.Buffer.AsSpan(0, MmcCommands.PacketSizeInBytes).CopyTo(p);
        drive.Phase = IdeTransferPhase.None;
        drive.BufferPosition = drive.BufferLength = 0;
        byte operation = p[0];
        if (drive.UnitAttention && operation is not (MmcCommands.Inquiry or MmcCommands.RequestSense or MmcCommands.GetConfiguration or MmcCommands.GetEventStatusNotification))
        {
            // SPC-3 5.9.7: a pending unit attention fails the next command (but not these four) and is then cleared.
            drive.UnitAttention = false;
            CheckCondition(drive, MmcCommands.SenseUnitAttention, MmcCommands.AscMediumMayHaveChanged);
            return;
        }

        switch (operation)
        {
            case MmcCommands.TestUnitReady:
                if (RequireMedium(drive))
                {
                    CompletePacketCommand(drive);
                }

                break;
            case MmcCommands.RequestSense:
                RequestSense(drive, p[4]);
                break;
            case MmcCommands.Inquiry:
                Inquiry(drive, p);
                break;
            case MmcCommands.StartStopUnit:
                StartStopUnit(drive, p[4]);
                break;
            case MmcCommands.PreventAllowMediumRemoval:
                drive.MediumLocked = (p[4] & 1) != 0;
                CompletePacketCommand(drive);
                break;
            case MmcCommands.ReadCapacity:
                ReadCapacity(drive);
                break;
            case MmcCommands.Read10:
                StartCdRead(drive, BinaryPrimitives.ReadUInt32BigEndian(p[2..]), BinaryPrimitives.ReadUInt16BigEndian(p[7..]));
                break;
            case MmcCommands.Read12:
                StartCdRead(drive, BinaryPrimitives.ReadUInt32BigEndian(p[2..]), BinaryPrimitives.ReadUInt32BigEndian(p[6..]));
                break;
            case MmcCommands.Seek10 or MmcCommands.SetCdSpeed:
                if (RequireMedium(drive))
                {
                    CompletePacketCommand(drive);
                }

                break;
            case MmcCommands.ModeSense10:
                ModeSense(drive, p);
                break;
            case MmcCommands.ReadTocPmaAtip:
                ReadToc(drive, p);
                break;
            case MmcCommands.GetConfiguration:
                GetConfiguration(drive, p);
                break;
            case MmcCommands.GetEventStatusNotification:
                GetEventStatusNotification(drive, p);
                break;
            case MmcCommands.ReadDiscInformation:
                ReadDiscInformation(drive, p);
                break;
            default:
                CheckCondition(drive, MmcCommands.SenseIllegalRequest, MmcCommands.AscInvalidCommandOperationCode);
                break;
        }
    }

    /// <summary>The command ended well: status with DRDY, interrupt reason CoD and IO (completion), the interrupt.</summary>
    private void CompletePacketCommand(IdeDrive drive)
    {
        drive.CancelTransfer();
        drive.SenseKey = MmcCommands.SenseNone;
        drive.AdditionalSenseCode = 0;
        drive.AdditionalSenseCodeQualifier = 0;
        drive.Status = AtaRegisters.StatusReady | AtaRegisters.StatusSeekComplete;
        drive.Error = 0;
        drive.SectorCount = AtaRegisters.ReasonCommandOrData | AtaRegisters.ReasonInputOutput;
        RaiseInterrupt();
    }

    /// <summary>CHECK CONDITION: ERR, the sense key in the error register's high nibble, the sense data kept for REQUEST SENSE.</summary>
    private void CheckCondition(IdeDrive drive, byte senseKey, byte additionalSenseCode, byte qualifier = 0)
    {
        drive.CancelTransfer();
        drive.SenseKey = senseKey;
        drive.AdditionalSenseCode = additionalSenseCode;
        drive.AdditionalSenseCodeQualifier = qualifier;
        drive.Status = AtaRegisters.StatusReady | AtaRegisters.StatusError;
        drive.Error = (byte)((senseKey << 4) | (senseKey == MmcCommands.SenseIllegalRequest ? AtaRegisters.ErrorAborted : 0));
        drive.SectorCount = AtaRegisters.ReasonCommandOrData | AtaRegisters.ReasonInputOutput;
        RaiseInterrupt();
    }

    /// <summary>NOT READY, MEDIUM NOT PRESENT (tray closed or open) unless a disc is readable.</summary>
    private bool RequireMedium(IdeDrive drive)
    {
        if (drive.HasMedium)
        {
            return true;
        }

        CheckCondition(drive, MmcCommands.SenseNotReady, MmcCommands.AscMediumNotPresent, drive.TrayOpen ? (byte)2 : (byte)1);
        return false;
    }

    /// <summary>Sends <paramref name="reply"/> (cut to the allocation length) as the command's data.</summary>
    private void Reply(IdeDrive drive, ReadOnlySpan<byte> reply, int allocationLength)
    {
        int length = Math.Min(reply.Length, allocationLength);
        reply[..length].CopyTo(drive.Staging);
        drive.StagingPosition = 0;
        drive.StagingLength = length;
        drive.RemainingSectors = 0;
        drive.DmaBytesLeft = length;
        StartPacketDataIn(drive);
    }

    private void StartPacketDataIn(IdeDrive drive)
    {
        if (drive.DmaBytesLeft == 0)
        {
            CompletePacketCommand(drive);
            return;
        }

        if ((drive.Features & AtaRegisters.PacketFeatureDma) != 0)
        {
            drive.SectorCount = AtaRegisters.ReasonInputOutput;
            StartDma(drive, IdeTransferPhase.DmaIn);
        }
        else
        {
            NextAtapiPioBlock(drive);
        }
    }

    /// <summary>
    /// The next PIO block of packet data: at most the byte count limit (even, FFFEh for 0), whole blocks where the data is
    /// medium blocks, its size in LBA mid/high, interrupt reason IO, and the interrupt; after the last, the completion.
    /// </summary>
    private void NextAtapiPioBlock(IdeDrive drive)
    {
        if (drive.DmaBytesLeft == 0)
        {
            CompletePacketCommand(drive);
            return;
        }

        int limit = drive.ByteCountLimit == 0 ? MaximumEvenByteCount : drive.ByteCountLimit & ~1;
        limit = Math.Max(limit, 2);
        int length = (int)Math.Min(drive.DmaBytesLeft, limit);
        int blockSize = IdeDriveConfiguration.CdromBlockSize;
        bool mediumData = drive.RemainingSectors > 0 || drive.StagingLength - drive.StagingPosition < drive.DmaBytesLeft;
        if (mediumData && length >= blockSize && length < drive.DmaBytesLeft)
        {
            length -= length % blockSize;
        }

        try
        {
            Fetch(drive, drive.Buffer.AsSpan(0, length));
        }
        catch (IOException e)
        {
            CountHostError(drive, e);
            CheckCondition(drive, MmcCommands.SenseMediumError, MmcCommands.AscUnrecoveredReadError);
            return;
        }

        drive.DmaBytesLeft -= length;
        drive.LbaMid = (byte)length;
        drive.LbaHigh = (byte)(length >> 8);
        drive.SectorCount = AtaRegisters.ReasonInputOutput;
        drive.Phase = IdeTransferPhase.PioIn;
        drive.BufferPosition = 0;
        drive.BufferLength = length;
        drive.Status = AtaRegisters.StatusReady | AtaRegisters.StatusDataRequest;
        RaiseInterrupt();
    }

    private void StartCdRead(IdeDrive drive, uint lba, uint blocks)
    {
        if (!RequireMedium(drive))
        {
            return;
        }

        if (lba + (ulong)blocks > (ulong)drive.CdBlocks)
        {
            CheckCondition(drive, MmcCommands.SenseIllegalRequest, MmcCommands.AscLogicalBlockAddressOutOfRange);
            return;
        }

        drive.NextLba = lba;
        drive.RemainingSectors = blocks;
        drive.StagingPosition = drive.StagingLength = 0;
        drive.DmaBytesLeft = blocks * (long)IdeDriveConfiguration.CdromBlockSize;
        StartPacketDataIn(drive);
    }

    /// <summary>REQUEST SENSE (SPC-3 6.27): fixed-format sense data of the last command (or the pending unit attention), then cleared.</summary>
    private void RequestSense(IdeDrive drive, int allocationLength)
    {
        Span<byte> sense = stackalloc byte[MmcCommands.SenseDataLength];
        sense.Clear();
        byte key = drive.SenseKey;
        byte asc = drive.AdditionalSenseCode;
        byte ascq = drive.AdditionalSenseCodeQualifier;
        if (key == MmcCommands.SenseNone && drive.UnitAttention)
        {
            key = MmcCommands.SenseUnitAttention;
            asc = MmcCommands.AscMediumMayHaveChanged;
            ascq = 0;
            drive.UnitAttention = false;
        }

        sense[0] = MmcCommands.SenseResponseCurrentFixed;
        sense[2] = key;
        sense[7] = MmcCommands.SenseDataLength - 8;
        sense[12] = asc;
        sense[13] = ascq;
        Reply(drive, sense, allocationLength);
        drive.SenseKey = MmcCommands.SenseNone;
        drive.AdditionalSenseCode = 0;
        drive.AdditionalSenseCodeQualifier = 0;
    }

    private void Inquiry(IdeDrive drive, ReadOnlySpan<byte> p)
    {
        if ((p[1] & 1) != 0)
        {
            // Vital product data pages are not implemented: EVPD is an invalid field.
            CheckCondition(drive, MmcCommands.SenseIllegalRequest, MmcCommands.AscInvalidFieldInCdb);
            return;
        }

        Span<byte> data = stackalloc byte[InquiryLength];
        data.Clear();
        data[0] = MmcCommands.PeripheralTypeCdDvd;
        data[1] = MmcCommands.InquiryRemovable;
        data[2] = 0x00;                  // no claim to a SCSI version, as ATAPI drives report
        data[3] = 0x21;                  // ATAPI version 2, response data format 1
        data[4] = InquiryLength - 5;
        PutAscii(data.Slice(8, 8), InquiryVendor);
        PutAscii(data.Slice(16, 16), InquiryProduct);
        PutAscii(data.Slice(32, 4), InquiryRevision);
        Reply(drive, data, BinaryPrimitives.ReadUInt16BigEndian(p[3..]));
    }

    /// <summary>START STOP UNIT (SBC/MMC): LoEj with Start clear ejects (refused while locked), with Start set loads.</summary>
    private void StartStopUnit(IdeDrive drive, byte flags)
    {
        bool loadEject = (flags & 0x02) != 0;
        bool start = (flags & 0x01) != 0;
        if (loadEject && !start)
        {
            if (drive.MediumLocked)
            {
                CheckCondition(drive, MmcCommands.SenseIllegalRequest, MmcCommands.AscMediumRemovalPrevented, MmcCommands.AscqMediumRemovalPrevented);
                return;
            }

            if (!drive.TrayOpen)
            {
                drive.TrayOpen = true;
                drive.MediaEvent = MmcCommands.MediaEventMediaRemoval;
            }
        }
        else if (loadEject && drive.TrayOpen)
        {
            drive.TrayOpen = false;
            if (drive.Medium is not null)
            {
                drive.MediaEvent = MmcCommands.MediaEventNewMedia;
            }
        }

        CompletePacketCommand(drive);
    }

    private void ReadCapacity(IdeDrive drive)
    {
        if (!RequireMedium(drive))
        {
            return;
        }

        Span<byte> data = stackalloc byte[ReadCapacityLength];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)Math.Max(drive.CdBlocks - 1, 0));
        BinaryPrimitives.WriteUInt32BigEndian(data[4..], IdeDriveConfiguration.CdromBlockSize);
        Reply(drive, data, ReadCapacityLength);
    }

    /// <summary>MODE SENSE(10): the read error recovery, CD audio control and capabilities pages; current, changeable or default values.</summary>
    private void ModeSense(IdeDrive drive, ReadOnlySpan<byte> p)
    {
        int control = p[2] >> 6;
        int page = p[2] & 0x3F;
        if (control == 3)
        {
            CheckCondition(drive, MmcCommands.SenseIllegalRequest, MmcCommands.AscSavingParametersNotSupported);
            return;
        }

        var data = new List<byte>(64) { 0, 0, drive.HasMedium ? (byte)0x01 : (byte)0x70, 0, 0, 0, 0, 0 };
        bool any = false;
        foreach (byte candidate in (ReadOnlySpan<byte>)[MmcCommands.PageReadErrorRecovery, MmcCommands.PageCdAudioControl, MmcCommands.PageCapabilities])
        {
            if (page != candidate && page != MmcCommands.PageAll)
            {
                continue;
            }

            byte[] contents = ModePage(drive, candidate);
            if (control == 1)
            {
                // Changeable values: nothing can be changed.
                Array.Clear(contents, 2, contents.Length - 2);
            }

            data.AddRange(contents);
            any = true;
        }

        if (!any)
        {
            CheckCondition(drive, MmcCommands.SenseIllegalRequest, MmcCommands.AscInvalidFieldInCdb);
            return;
        }

        byte[] reply = [.. data];
        BinaryPrimitives.WriteUInt16BigEndian(reply, (ushort)(reply.Length - 2));
        Reply(drive, reply, BinaryPrimitives.ReadUInt16BigEndian(p[7..]));
    }

    private static byte[] ModePage(IdeDrive drive, byte page) => page switch
    {
        MmcCommands.PageReadErrorRecovery => [page, 6, 0x00, 5, 0, 0, 0, 0],
        MmcCommands.PageCdAudioControl => [page, 14, 0x04, 0, 0, 0, 0, 0, 0x01, 0xFF, 0x02, 0xFF, 0, 0, 0, 0],
        _ =>
        [
            page, 0x14,
            0x3B,                                        // reads CD-R, CD-RW, DVD-ROM, DVD-R, DVD-RAM
            0x00,                                        // writes nothing
            0x71,                                        // audio play, mode 2 form 1 and 2, multi-session
            0x03,                                        // CD-DA commands, accurate stream
            (byte)(0x29 | (drive.MediumLocked ? 0x02 : 0)), // tray loader, eject, lock (and its state)
            0x03,                                        // separate volume and mute
            0x02, 0xC2,                                  // maximum read speed 706 KB/s (4x)
            0x01, 0x00,                                  // 256 volume levels
            0x02, 0x00,                                  // 512 KiB buffer
            0x02, 0xC2,                                  // current read speed
            0, 0, 0, 0, 0, 0,
        ],
    };

    /// <summary>READ TOC/PMA/ATIP formats 0 (the TOC: track 1 and the lead-out) and 1 (session information), in LBA or MSF.</summary>
    private void ReadToc(IdeDrive drive, ReadOnlySpan<byte> p)
    {
        if (!RequireMedium(drive))
        {
            return;
        }

        bool msf = (p[1] & 0x02) != 0;
        int format = p[2] & 0x0F;
        if (format == 0 && (p[9] >> 6) != 0)
        {
            // SFF-8020i put the format in the control byte's vendor bits; old drivers still send it there.
            format = p[9] >> 6;
        }

        int track = p[6];
        int allocation = BinaryPrimitives.ReadUInt16BigEndian(p[7..]);
        var data = new List<byte>(32) { 0, 0, 1, 1 };
        if (format == 0)
        {
            if (track > 1 && track != MmcCommands.LeadOutTrack)
            {
                CheckCondition(drive, MmcCommands.SenseIllegalRequest, MmcCommands.AscInvalidFieldInCdb);
                return;
            }

            if (track <= 1)
            {
                AddTrackDescriptor(data, 1, 0, msf);
            }

            AddTrackDescriptor(data, MmcCommands.LeadOutTrack, drive.CdBlocks, msf);
        }
        else if (format == 1)
        {
            AddTrackDescriptor(data, 1, 0, msf);
        }
        else
        {
            CheckCondition(drive, MmcCommands.SenseIllegalRequest, MmcCommands.AscInvalidFieldInCdb);
            return;
        }

        byte[] reply = [.. data];
        BinaryPrimitives.WriteUInt16BigEndian(reply, (ushort)(reply.Length - 2));
        Reply(drive, reply, allocation);
    }

    private static void AddTrackDescriptor(List<byte> data, byte track, long lba, bool msf)
    {
        data.AddRange([0, MmcCommands.TocControlDataTrack, track, 0]);
        if (msf)
        {
            long frames = lba + MmcCommands.MsfOffsetFrames;
            data.AddRange([0, (byte)(frames / (60 * 75)), (byte)(frames / 75 % 60), (byte)(frames % 75)]);
        }
        else
        {
            data.AddRange([(byte)(lba >> 24), (byte)(lba >> 16), (byte)(lba >> 8), (byte)lba]);
        }
    }

    /// <summary>GET CONFIGURATION (MMC-3 6.6): the profile list, core, removable medium and random readable features.</summary>
    private void GetConfiguration(IdeDrive drive, ReadOnlySpan<byte> p)
    {
        int requestType = p[1] & 0x03;
        int startingFeature = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        if (requestType == 3)
        {
            CheckCondition(drive, MmcCommands.SenseIllegalRequest, MmcCommands.AscInvalidFieldInCdb);
            return;
        }

        bool present = drive.HasMedium;
        bool dvd = drive.CdBlocks > MmcCommands.CdMaximumBlocks;
        ushort profile = !present ? (ushort)0 : dvd ? MmcCommands.ProfileDvdRom : MmcCommands.ProfileCdRom;
        (ushort Code, bool Current, byte[] Bytes)[] features =
        [
            (0x0000, true, [0x00, 0x00, 0x03, 8, 0x00, 0x10, (byte)(present && dvd ? 1 : 0), 0, 0x00, 0x08, (byte)(present && !dvd ? 1 : 0), 0]),
            (0x0001, true, [0x00, 0x01, 0x0B, 8, 0, 0, 0, 2, 0, 0, 0, 0]),             // core: ATAPI
            (0x0003, true, [0x00, 0x03, 0x03, 4, 0x29, 0, 0, 0]),                        // removable medium: tray, eject, lock
            (0x0010, present, [0x00, 0x10, (byte)(present ? 0x01 : 0x00), 8, 0, 0, 0x08, 0x00, 0, 1, 0, 0]), // random readable, 2048-byte blocks
        ];
        var data = new List<byte>(64) { 0, 0, 0, 0, 0, 0, (byte)(profile >> 8), (byte)profile };
        foreach ((ushort code, bool current, byte[] bytes) in features)
        {
            bool wanted = requestType switch
            {
                0 => code >= startingFeature,
                1 => code >= startingFeature && current,
                _ => code == startingFeature,
            };
            if (wanted)
            {
                data.AddRange(bytes);
            }
        }

        byte[] reply = [.. data];
        BinaryPrimitives.WriteUInt32BigEndian(reply, (uint)(reply.Length - 4));
        Reply(drive, reply, BinaryPrimitives.ReadUInt16BigEndian(p[7..]));
    }

    /// <summary>GET EVENT STATUS NOTIFICATION (MMC-3 6.7), polled only: the media class, each event reported once.</summary>
    private void GetEventStatusNotification(IdeDrive drive, ReadOnlySpan<byte> p)
    {
        if ((p[1] & 0x01) == 0)
        {
            // Asynchronous notification is not supported.
            CheckCondition(drive, MmcCommands.SenseIllegalRequest, MmcCommands.AscInvalidFieldInCdb);
            return;
        }

        byte supported = 1 << MmcCommands.EventClassMedia;
        int allocation = BinaryPrimitives.ReadUInt16BigEndian(p[7..]);
        if ((p[4] & supported) == 0)
        {
            Reply(drive, [0, 2, MmcCommands.EventNoEventAvailable, supported], allocation);
            return;
        }

        byte status = (byte)((drive.HasMedium ? MmcCommands.MediaStatusPresent : 0) | (drive.TrayOpen ? MmcCommands.MediaStatusTrayOpen : 0));
        byte evt = drive.MediaEvent;
        drive.MediaEvent = MmcCommands.MediaEventNone;
        Reply(drive, [0, 6, MmcCommands.EventClassMedia, supported, evt, status, 0, 0], allocation);
    }

    /// <summary>READ DISC INFORMATION (MMC-3 6.22): a finalized single-session disc with one track.</summary>
    private void ReadDiscInformation(IdeDrive drive, ReadOnlySpan<byte> p)
    {
        if ((p[1] & 0x07) != 0)
        {
            CheckCondition(drive, MmcCommands.SenseIllegalRequest, MmcCommands.AscInvalidFieldInCdb);
            return;
        }

        if (!RequireMedium(drive))
        {
            return;
        }

        Span<byte> data = stackalloc byte[DiscInformationLength];
        data.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(data, DiscInformationLength - 2);
        data[2] = 0x0E;                  // last session complete, disc complete (finalized)
        data[3] = 1;                     // first track on the disc
        data[4] = 1;                     // sessions
        data[5] = 1;                     // first track of the last session
        data[6] = 1;                     // last track of the last session
        data.Slice(17, 8).Fill(0xFF);    // lead-in start and last possible lead-out: not given for pressed media
        Reply(drive, data, BinaryPrimitives.ReadUInt16BigEndian(p[7..]));
    }

    private static void PutAscii(Span<byte> field, string text)
    {
        field.Fill((byte)' ');
        Encoding.ASCII.GetBytes(text.AsSpan(0, Math.Min(text.Length, field.Length)), field);
    }
}
