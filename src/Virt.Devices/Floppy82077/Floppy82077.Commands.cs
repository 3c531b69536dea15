namespace Virt.Devices;

/// <summary>The command, execution and result phases of the <see cref="Floppy82077"/>.</summary>
public sealed partial class Floppy82077
{
    // Opcodes (datasheet Table "Command Set"), low five bits for the commands that carry MT/MFM/SK.
    private const byte OpReadTrack = 0x02;
    private const byte OpSpecify = 0x03;
    private const byte OpSenseDriveStatus = 0x04;
    private const byte OpWriteData = 0x05;
    private const byte OpReadData = 0x06;
    private const byte OpRecalibrate = 0x07;
    private const byte OpSenseInterruptStatus = 0x08;
    private const byte OpReadId = 0x0A;
    private const byte OpFormatTrack = 0x0D;
    private const byte OpDumpRegisters = 0x0E;
    private const byte OpSeek = 0x0F;
    private const byte OpVersion = 0x10;
    private const byte OpPerpendicularMode = 0x12;
    private const byte OpConfigure = 0x13;
    private const byte OpLock = 0x14;
    private const byte LockOpcodeMask = 0x7F;
    private const byte SeekOpcodeMask = 0x3F;

    private const int FormatIdBytes = 4;

    private byte ReadFifo()
    {
        switch (_phase)
        {
            case Phase.Result:
            {
                byte value = _result[_resultIndex++];

                // Reading the first result byte clears the interrupt of the command (datasheet "Result Phase").
                if (_interruptPending)
                {
                    LowerInterrupt();
                }

                if (_resultIndex >= _resultLength)
                {
                    _phase = Phase.Command;
                    _commandCount = 0;
                }

                return value;
            }

            case Phase.PioRead:
            {
                byte value = _sector[_sectorPosition++];
                if (_sectorPosition == SectorSize)
                {
                    LowerInterrupt();
                    AfterSector(terminalCount: false);
                }

                return value;
            }

            default:
                Misuse("FIFO read outside the result and non-DMA read phases", (int)_phase);
                return OpenBus;
        }
    }

    private void WriteFifo(byte value)
    {
        switch (_phase)
        {
            case Phase.Command:
                AcceptCommandByte(value);
                break;
            case Phase.PioWrite:
                _sector[_sectorPosition++] = value;
                if (_sectorPosition == SectorSize)
                {
                    LowerInterrupt();
                    if (WriteSector())
                    {
                        AfterSector(terminalCount: false);
                    }
                }

                break;
            case Phase.PioFormat:
                _sector[_sectorPosition++] = value;
                if (_sectorPosition == FormatIdBytes)
                {
                    _sectorPosition = 0;
                    FormatSector(_sector.AsSpan(0, FormatIdBytes));
                    if (--_formatRemaining == 0)
                    {
                        FinishFormat();
                    }
                }

                break;
            default:
                Misuse("FIFO write outside the command and non-DMA write phases", value);
                break;
        }
    }

    /// <summary>The command length in bytes, opcode included, or 0 for an opcode the controller does not know.</summary>
    private static int CommandLength(byte opcode)
    {
        switch (opcode & CommandOpcodeMask)
        {
            case OpReadData:
            case OpReadTrack:
                return 9;
            case OpWriteData when (opcode & 0x20) == 0:
                return 9;
            case OpReadId when (opcode & 0xA0) == 0:
                return 2;
            case OpFormatTrack when (opcode & 0xA0) == 0:
                return 6;
            default:
                break;
        }

        if ((opcode & SeekOpcodeMask) == OpSeek && (opcode & RelativeSeek) != 0 || opcode == OpSeek)
        {
            return 3;
        }

        return opcode switch
        {
            OpSpecify => 3,
            OpSenseDriveStatus => 2,
            OpRecalibrate => 2,
            OpSenseInterruptStatus => 1,
            OpDumpRegisters => 1,
            OpVersion => 1,
            OpPerpendicularMode => 2,
            OpConfigure => 4,
            _ when (opcode & LockOpcodeMask) == OpLock => 1,
            _ => 0,
        };
    }

    private void AcceptCommandByte(byte value)
    {
        if (_commandCount == 0)
        {
            int length = CommandLength(value);
            if (length == 0)
            {
                SetResult(St0InvalidCommand);
                return;
            }

            if (value != OpSenseInterruptStatus)
            {
                // The "ready changed" statuses of the last reset are superseded by a new command.
                _resetSenses = 0;
            }
        }

        _command[_commandCount++] = value;
        if (_commandCount == CommandLength(_command[0]))
        {
            ExecuteCommand();
        }
    }

    private void SetResult(params ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_result);
        _resultLength = bytes.Length;
        _resultIndex = 0;
        _phase = bytes.Length == 0 ? Phase.Command : Phase.Result;
        _commandCount = 0;
    }

    private void ExecuteCommand()
    {
        byte opcode = _command[0];
        int ds = _command[1] & DorDriveSelectMask;
        switch (opcode & CommandOpcodeMask)
        {
            case OpReadData:
            case OpReadTrack:
            case OpWriteData:
            case OpReadId:
            case OpFormatTrack:
                BeginDataCommand(opcode);
                return;
            default:
                break;
        }

        if ((opcode & SeekOpcodeMask) == OpSeek)
        {
            Drive d = _drives[ds];
            int target = _command[2];
            if ((opcode & RelativeSeek) != 0)
            {
                target = (opcode & RelativeSeekInward) != 0 ? Math.Min(d.Cylinder + target, 255) : Math.Max(d.Cylinder - target, 0);
            }

            StartSeek(ds, (_command[1] >> St0HeadShift) & 1, target, recalibrate: false);
            SetResult();
            return;
        }

        switch (opcode)
        {
            case OpRecalibrate:
                StartSeek(ds, 0, 0, recalibrate: true);
                SetResult();
                break;
            case OpSenseInterruptStatus:
                SenseInterruptStatus();
                break;
            case OpSenseDriveStatus:
            {
                Drive d = _drives[ds];
                int head = (_command[1] >> St0HeadShift) & 1;
                byte st3 = (byte)(St3Ready | St3TwoSided | (head << St0HeadShift) | ds);
                st3 |= d.Medium is { IsReadOnly: true } ? St3WriteProtected : (byte)0;
                st3 |= d.Cylinder == 0 ? St3Track0 : (byte)0;
                SetResult(st3);
                break;
            }

            case OpSpecify:
                _specify1 = _command[1];
                _specify2 = _command[2];
                SetResult();
                break;
            case OpConfigure:
                _configure = _command[2];
                _pretrack = _command[3];
                SetResult();
                break;
            case OpVersion:
                SetResult(VersionEnhanced);
                break;
            case OpPerpendicularMode:
                _perpendicular = (_command[1] & PerpendicularOverwrite) != 0
                    ? (byte)(_command[1] & 0x3F)
                    : (byte)((_perpendicular & ~PerpendicularGapWgateMask) | (_command[1] & PerpendicularGapWgateMask));
                SetResult();
                break;
            case OpDumpRegisters:
                SetResult(
                    (byte)_drives[0].Cylinder,
                    (byte)_drives[1].Cylinder,
                    (byte)_drives[2].Cylinder,
                    (byte)_drives[3].Cylinder,
                    _specify1,
                    _specify2,
                    _eot,
                    (byte)((_locked ? LockBit : 0) | (_perpendicular & 0x3F)),
                    _configure,
                    _pretrack);
                break;
            default:
                // LOCK (14h unlocks, 94h locks): the result is the new LOCK bit in bit 4.
                _locked = (opcode & LockBit) != 0;
                SetResult((byte)(_locked ? 0x10 : 0));
                break;
        }
    }

    private void SenseInterruptStatus()
    {
        LowerInterrupt();
        if (_resetSenses > 0)
        {
            int drive = DriveSelects - _resetSenses;
            _resetSenses--;
            SetResult((byte)(St0ReadyChanged | drive), (byte)_drives[drive].Cylinder);
            return;
        }

        for (int i = 0; i < DriveSelects; i++)
        {
            Drive d = _drives[i];
            if (d.PendingStatus >= 0)
            {
                byte st0 = (byte)d.PendingStatus;
                d.PendingStatus = -1;
                SetResult(st0, (byte)d.Cylinder);
                return;
            }
        }

        SetResult(St0InvalidCommand);
    }

    private void StartSeek(int ds, int head, int target, bool recalibrate)
    {
        Drive d = _drives[ds];
        byte st0 = (byte)(St0SeekEnd | (head << St0HeadShift) | ds);
        if (recalibrate && !d.Present)
        {
            // No drive: track 0 never comes, and the 82077AA gives up with equipment check (datasheet, RECALIBRATE).
            st0 |= St0AbnormalTermination | St0EquipmentCheck;
            target = d.Cylinder;
        }

        d.SeekTarget = target;
        d.SeekStatus = st0;
        d.Head = head;
        d.PendingStatus = -1;
        _seekTimers[ds].ScheduleAt(_clock.NowNanoseconds + SeekDelayNanoseconds);
    }

    private void CompleteSeek(int ds)
    {
        Drive d = _drives[ds];
        if (d.SeekTarget < 0)
        {
            return;
        }

        d.Cylinder = d.SeekTarget;
        d.SeekTarget = -1;
        d.PendingStatus = d.SeekStatus;

        // A step with a disk in the drive clears the disk-change line (as QEMU, any seek with a medium present).
        if (d.Medium is not null)
        {
            d.DiskChanged = false;
        }

        RaiseInterrupt();
    }

    private void BeginDataCommand(byte opcode)
    {
        int ds = _command[1] & DorDriveSelectMask;
        _opDrive = ds;
        _opHead = (_command[1] >> St0HeadShift) & 1;
        _multiTrack = (opcode & CommandMultiTrack) != 0;
        switch (opcode & CommandOpcodeMask)
        {
            case OpReadId:
                _operation = Operation.ReadId;
                break;
            case OpFormatTrack:
                _operation = Operation.Format;
                _n = _command[2];
                _formatRemaining = _command[3];
                _formatFiller = _command[5];
                _multiTrack = false;
                break;
            default:
                _operation = (opcode & CommandOpcodeMask) switch
                {
                    OpReadData => Operation.Read,
                    OpWriteData => Operation.Write,
                    _ => Operation.ReadTrack,
                };
                _c = _command[2];
                _h = _command[3];
                _r = _operation == Operation.ReadTrack ? (byte)1 : _command[4];
                _n = _command[5];
                _eot = _command[6];
                if (_operation == Operation.ReadTrack)
                {
                    _multiTrack = false;
                }

                // Implied seek (CONFIGURE EIS): the controller seeks to the command's cylinder first.
                if ((_configure & ConfigureImpliedSeek) != 0)
                {
                    _drives[ds].Cylinder = _c;
                    _drives[ds].Head = _opHead;
                }

                break;
        }

        _drives[ds].Head = _opHead;
        _phase = Phase.Busy;
        _pending = PendingEvent.Execute;
        _commandTimer.ScheduleAt(_clock.NowNanoseconds + CommandDelayNanoseconds);
    }

    /// <summary>The execution phase begins: checks that the track can be read, then the transfer through DMA or the FIFO.</summary>
    private void StartExecution()
    {
        Drive d = _drives[_opDrive];
        bool mfm = (_command[0] & CommandMfm) != 0;
        FloppyGeometry? g = d.Geometry;

        // No medium, a data rate or recording mode other than the medium's, a side or track the medium lacks: the
        // controller finds no ID address mark on the track (ST1 MA).
        if (g is null || !mfm || _dataRate != g.DataRate || _opHead >= g.Heads || d.Cylinder >= g.Cylinders)
        {
            Finish(St0AbnormalTermination, St1MissingAddressMark, 0);
            return;
        }

        if (_operation is Operation.Write or Operation.Format && d.Medium!.IsReadOnly)
        {
            Finish(St0AbnormalTermination, St1NotWritable, 0);
            return;
        }

        switch (_operation)
        {
            case Operation.ReadId:
                _c = (byte)d.Cylinder;
                _h = (byte)_opHead;
                _r = (byte)d.NextSector;
                _n = SizeCode512;
                d.NextSector = d.NextSector >= g.SectorsPerTrack ? 1 : d.NextSector + 1;
                Finish(0, 0, 0);
                return;
            case Operation.Format:
                _c = (byte)d.Cylinder;
                _h = (byte)_opHead;
                _r = 1;
                if (_formatRemaining == 0)
                {
                    FinishFormat();
                    return;
                }

                if (NonDma)
                {
                    _phase = Phase.PioFormat;
                    _sectorPosition = 0;
                    RaiseInterrupt();
                    return;
                }

                break;
            default:
                if (NonDma)
                {
                    StartPioSector();
                    return;
                }

                break;
        }

        _awaitingDma = true;
        UpdateDmaRequest();
    }

    /// <summary>The DMA controller serves channel 2 while the controller holds DRQ: the whole data phase runs now.</summary>
    private void OnDmaService()
    {
        if (!_awaitingDma)
        {
            _dma.SetRequest(false);
            return;
        }

        _awaitingDma = false;
        UpdateDmaRequest();
        if (_operation == Operation.Format)
        {
            Span<byte> id = stackalloc byte[FormatIdBytes];
            while (_formatRemaining > 0)
            {
                int got = _dma.ReadFromMemory(id);
                if (got < FormatIdBytes)
                {
                    Finish(St0AbnormalTermination, St1Overrun, 0);
                    return;
                }

                FormatSector(id);
                _formatRemaining--;
                if (_dma.TerminalCountReached)
                {
                    break;
                }
            }

            FinishFormat();
            return;
        }

        while (_phase == Phase.Busy)
        {
            if (!LocateSector())
            {
                return;
            }

            int moved;
            if (_operation == Operation.Write)
            {
                moved = _dma.ReadFromMemory(_sector);
                if (moved == SectorSize || _dma.TerminalCountReached)
                {
                    // Terminal count in the middle of a sector: the 82077AA completes it with the last byte it had.
                    if (!WriteSector())
                    {
                        return;
                    }
                }
            }
            else
            {
                if (!ReadSector())
                {
                    return;
                }

                moved = _dma.WriteToMemory(_sector);
            }

            if (_dma.TerminalCountReached)
            {
                AfterSector(terminalCount: true);
            }
            else if (moved < SectorSize)
            {
                // The channel stopped without terminal count (masked by the guest meanwhile): data overrun.
                Finish(St0AbnormalTermination, St1Overrun, 0);
            }
            else
            {
                AfterSector(terminalCount: false);
            }
        }
    }

    private void StartPioSector()
    {
        if (!LocateSector())
        {
            return;
        }

        _sectorPosition = 0;
        if (_operation == Operation.Write)
        {
            _phase = Phase.PioWrite;
        }
        else
        {
            if (!ReadSector())
            {
                return;
            }

            _phase = Phase.PioRead;
        }

        RaiseInterrupt();
    }

    /// <summary>Checks the sector ID in progress against the track under the head; on a mismatch the command ends with "no data".</summary>
    private bool LocateSector()
    {
        Drive d = _drives[_opDrive];
        FloppyGeometry g = d.Geometry!;
        if (_c != d.Cylinder)
        {
            // Every ID on the track carries the head's cylinder: none matches (ST2 WC; BC when the command asks for FFh).
            Finish(St0AbnormalTermination, St1NoData, _c == 0xFF ? St2BadCylinder : St2WrongCylinder);
            return false;
        }

        if (_h != _opHead || _n != SizeCode512 || _r < 1 || _r > g.SectorsPerTrack)
        {
            Finish(St0AbnormalTermination, St1NoData, 0);
            return false;
        }

        return true;
    }

    private long SectorOffset()
    {
        Drive d = _drives[_opDrive];
        FloppyGeometry g = d.Geometry!;
        long lba = (((long)d.Cylinder * g.Heads) + _opHead) * g.SectorsPerTrack + (_r - 1);
        return lba * SectorSize;
    }

    private bool ReadSector()
    {
        Drive d = _drives[_opDrive];
        try
        {
            d.Medium!.Read(SectorOffset(), _sector);
        }
        catch (IOException)
        {
            Finish(St0AbnormalTermination, St1DataError, 0);
            return false;
        }

        d.NextSector = _r >= d.Geometry!.SectorsPerTrack ? 1 : _r + 1;
        return true;
    }

    private bool WriteSector()
    {
        Drive d = _drives[_opDrive];
        try
        {
            d.Medium!.Write(SectorOffset(), _sector);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            Finish(St0AbnormalTermination, e is IOException ? St1DataError : St1NotWritable, 0);
            return false;
        }

        d.NextSector = _r >= d.Geometry!.SectorsPerTrack ? 1 : _r + 1;
        return true;
    }

    /// <summary>
    /// A sector is done: at terminal count the command ends normally; otherwise the next sector, the other side (MT), or
    /// the end of the track without terminal count (abnormal termination, ST1 EN).
    /// </summary>
    private void AfterSector(bool terminalCount)
    {
        bool lastOnTrack = _r == _eot || _r >= _drives[_opDrive].Geometry!.SectorsPerTrack;
        if (terminalCount)
        {
            AdvanceId(lastOnTrack);
            Finish(0, 0, 0);
            return;
        }

        if (!lastOnTrack)
        {
            _r++;
        }
        else if (_multiTrack && _opHead == 0 && _drives[_opDrive].Geometry!.Heads == 2)
        {
            _opHead = 1;
            _h ^= 1;
            _r = 1;
            _drives[_opDrive].Head = 1;
        }
        else
        {
            AdvanceId(lastOnTrack: true);
            Finish(St0AbnormalTermination, St1EndOfCylinder, 0);
            return;
        }

        if (_phase is Phase.PioRead or Phase.PioWrite)
        {
            StartPioSector();
        }
    }

    /// <summary>The ID the result phase reports after the last sector (datasheet table "Result Phase ID information").</summary>
    private void AdvanceId(bool lastOnTrack)
    {
        if (!lastOnTrack)
        {
            _r++;
            return;
        }

        _r = 1;
        if (_multiTrack && _h == 0)
        {
            _h = 1;
            return;
        }

        _c++;
        if (_multiTrack)
        {
            _h = 0;
        }
    }

    private void FormatSector(ReadOnlySpan<byte> id)
    {
        // The image keeps only the data: a sector ID that names a slot of this track (this cylinder and head, 512 bytes)
        // gets the filler byte; others (other sizes, interleave beyond the track) cannot be represented and are skipped.
        Drive d = _drives[_opDrive];
        FloppyGeometry g = d.Geometry!;
        _c = id[0];
        _h = id[1];
        _r = id[2];
        _n = id[3];
        if (_c != d.Cylinder || _h != _opHead || _n != SizeCode512 || _r < 1 || _r > g.SectorsPerTrack)
        {
            return;
        }

        byte[] fill = new byte[SectorSize];
        fill.AsSpan().Fill(_formatFiller);
        try
        {
            d.Medium!.Write(SectorOffset(), fill);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            _formatRemaining = 1; // the caller's count ends the command; the error is reported through ST1
            _formatError = e is IOException ? St1DataError : St1NotWritable;
        }
    }

    private void FinishFormat()
    {
        byte error = _formatError;
        _formatError = 0;
        _formatRemaining = 0;
        Finish(error == 0 ? (byte)0 : St0AbnormalTermination, error, 0);
    }

    /// <summary>Ends the execution phase: the seven result bytes (ST0-ST2, C, H, R, N) and the interrupt.</summary>
    private void Finish(byte st0, byte st1, byte st2)
    {
        if (_awaitingDma)
        {
            _awaitingDma = false;
            UpdateDmaRequest();
        }

        _operation = Operation.None;
        st0 |= (byte)((_opHead << St0HeadShift) | _opDrive);
        SetResult(st0, st1, st2, _c, _h, _r, _n);
        RaiseInterrupt();
    }
}
