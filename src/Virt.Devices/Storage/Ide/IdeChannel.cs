using Microsoft.Extensions.Logging;

namespace Virt.Devices;

/// <summary>
/// One IDE channel (cable): a master and a slave drive behind one command block, one control register and one
/// interrupt, with the bus-master IDE registers of the channel. Both drives see every task-file write; reads, data and
/// commands go to the drive the device register selects (ATA/ATAPI-7 vol 2, chapter 5). Commands complete
/// synchronously: the data or the interrupt is there when the guest's OUT returns.
/// </summary>
internal sealed partial class IdeChannel
{
    private readonly IdeDrive?[] _drives = new IdeDrive?[2];
    private readonly Action<bool> _setInterrupt;
    private readonly IIdeBusMasterMemory? _busMaster;
    private readonly ILogger _logger;
    private byte _deviceControl;
    private int _selected;
    private bool _interruptPending;
    private bool _interruptLevel;

    public IdeChannel(string name, IdeDriveConfiguration? master, IdeDriveConfiguration? slave, int firstPosition, Action<bool> setInterrupt, IIdeBusMasterMemory? busMaster, ILogger logger)
    {
        Name = name;
        _drives[0] = master is null ? null : new IdeDrive(firstPosition, master);
        _drives[1] = slave is null ? null : new IdeDrive(firstPosition + 1, slave);
        _setInterrupt = setInterrupt;
        _busMaster = busMaster;
        _logger = logger;
    }

    public string Name { get; }

    /// <summary>Whether the channel drives its interrupt output now (INTRQ pending and nIEN clear).</summary>
    public bool InterruptLevel => _interruptLevel;

    /// <summary>Accesses the guest made that the protocol does not allow (data port with no transfer, commands to an absent drive).</summary>
    public long GuestErrorCount { get; private set; }

    /// <summary>Host backend failures turned into device errors.</summary>
    public long HostErrorCount { get; private set; }

    private IdeDrive? Selected => _drives[_selected];

    public IdeDrive? GetDrive(int unit) => _drives[unit];

    /// <summary>The hardware reset: every drive at power-on, the channel's registers cleared.</summary>
    public void Reset()
    {
        foreach (IdeDrive? drive in _drives)
        {
            drive?.PowerOn();
        }

        _deviceControl = 0;
        _selected = 0;
        _interruptPending = false;
        BusMasterCommand = 0;
        BusMasterStatus = 0;
        PrdTableAddress = 0;
        UpdateInterrupt();
    }

    /// <summary>A read of the command block (offset 0-7).</summary>
    public uint ReadCommandBlock(int offset, int sizeInBytes)
    {
        if (offset == AtaRegisters.Data)
        {
            return sizeInBytes switch
            {
                4 => ReadData() | ((uint)ReadData() << 16),
                2 => ReadData(),
                _ => (uint)(ReadData() & 0xFF),
            };
        }

        uint value = 0;
        for (int i = 0; i < sizeInBytes && offset + i < AtaRegisters.CommandBlockSize; i++)
        {
            value |= (uint)ReadRegister(offset + i) << (8 * i);
        }

        return value;
    }

    /// <summary>A write to the command block (offset 0-7).</summary>
    public void WriteCommandBlock(int offset, int sizeInBytes, uint value)
    {
        if (offset == AtaRegisters.Data)
        {
            WriteData((ushort)value);
            if (sizeInBytes == 4)
            {
                WriteData((ushort)(value >> 16));
            }

            return;
        }

        for (int i = 0; i < sizeInBytes && offset + i < AtaRegisters.CommandBlockSize; i++)
        {
            WriteRegister(offset + i, (byte)(value >> (8 * i)));
        }
    }

    /// <summary>The alternate status register: the status without clearing the interrupt.</summary>
    public byte ReadAlternateStatus() => Selected is { } drive ? drive.Status : (byte)0;

    /// <summary>A write of the device control register: nIEN, SRST (reset on its falling edge), HOB.</summary>
    public void WriteDeviceControl(byte value)
    {
        bool wasResetting = (_deviceControl & AtaRegisters.ControlSoftwareReset) != 0;
        bool resetting = (value & AtaRegisters.ControlSoftwareReset) != 0;
        _deviceControl = value;
        if (resetting && !wasResetting)
        {
            // ATA/ATAPI-7 vol 2, 9.2: while SRST is set the devices are busy; the reset completes when it is cleared.
            foreach (IdeDrive? drive in _drives)
            {
                if (drive is not null)
                {
                    drive.CancelTransfer();
                    drive.Status = AtaRegisters.StatusBusy;
                }
            }

            _interruptPending = false;
        }
        else if (!resetting && wasResetting)
        {
            foreach (IdeDrive? drive in _drives)
            {
                drive?.Reset();
            }

            _selected = 0;
        }

        UpdateInterrupt();
    }

    /// <summary>The host put another medium in a CD-ROM drive (or took it out): the guest sees a unit attention and a media event.</summary>
    public void ChangeMedium(int unit, IBlockDevice? medium)
    {
        IdeDrive drive = _drives[unit] ?? throw new InvalidOperationException($"{Name}: no drive at unit {unit}.");
        if (!drive.IsAtapi)
        {
            throw new InvalidOperationException($"{Name} unit {unit} is a disk; only a CD-ROM drive's medium can be changed.");
        }

        if (drive.Phase != IdeTransferPhase.None)
        {
            drive.CancelTransfer();
            drive.Status = AtaRegisters.StatusReady | AtaRegisters.StatusSeekComplete;
        }

        drive.Medium = medium;
        drive.TrayOpen = false;
        drive.UnitAttention = true;
        drive.MediaEvent = medium is null ? MmcCommands.MediaEventMediaRemoval : MmcCommands.MediaEventNewMedia;
    }

    public IdeChannelState SaveState() => new(
        _deviceControl,
        _selected,
        _interruptPending,
        BusMasterCommand,
        BusMasterStatus,
        PrdTableAddress,
        [_drives[0]?.SaveState(), _drives[1]?.SaveState()]);

    public void Validate(IdeChannelState state, string where)
    {
        if (state is null || state.Drives is null || state.Drives.Length != 2 || state.SelectedDrive is not (0 or 1))
        {
            throw new ArgumentException($"{where}: the record is missing, has no two drive entries or selects drive {state?.SelectedDrive}.", nameof(state));
        }

        for (int i = 0; i < 2; i++)
        {
            if ((state.Drives[i] is null) != (_drives[i] is null))
            {
                throw new ArgumentException($"{where}.Drives[{i}]: the record {(state.Drives[i] is null ? "has no drive" : "has a drive")} where the machine {(_drives[i] is null ? "has none" : "has one")}.", nameof(state));
            }

            if (state.Drives[i] is { } drive)
            {
                _drives[i]!.Validate(drive, $"{where}.Drives[{i}]");
            }
        }
    }

    public void Restore(IdeChannelState state)
    {
        _deviceControl = state.DeviceControl;
        _selected = state.SelectedDrive;
        _interruptPending = state.InterruptPending;
        BusMasterCommand = state.BusMasterCommand;
        BusMasterStatus = state.BusMasterStatus;
        PrdTableAddress = state.PrdTableAddress;
        for (int i = 0; i < 2; i++)
        {
            if (state.Drives[i] is { } drive)
            {
                _drives[i]!.Restore(drive);
            }
        }

        UpdateInterrupt();
    }

    /// <summary>INTRQ asserted: pending until the status register is read or a command is written.</summary>
    private void RaiseInterrupt()
    {
        _interruptPending = true;
        UpdateInterrupt();
    }

    private void UpdateInterrupt()
    {
        bool level = _interruptPending && (_deviceControl & AtaRegisters.ControlInterruptDisable) == 0;
        if (level == _interruptLevel)
        {
            return;
        }

        _interruptLevel = level;
        if (level)
        {
            // The bus-master status's interrupt bit latches the rising edge of the drive's INTRQ (PIIX3 datasheet, BMISX bit 2).
            BusMasterStatus |= BusMasterStatusInterrupt;
        }

        _setInterrupt(level);
    }

    private byte ReadRegister(int offset)
    {
        IdeDrive? drive = Selected;
        if (drive is null)
        {
            // No drive answers: QEMU's PIIX reads 0 here, which firmware and ata_piix take for "no device".
            return 0;
        }

        bool hob = (_deviceControl & AtaRegisters.ControlHighOrderByte) != 0;
        switch (offset)
        {
            case AtaRegisters.ErrorOrFeatures:
                return drive.Error;
            case AtaRegisters.SectorCount:
                return hob ? drive.HobSectorCount : drive.SectorCount;
            case AtaRegisters.LbaLow:
                return hob ? drive.HobLbaLow : drive.LbaLow;
            case AtaRegisters.LbaMid:
                return hob ? drive.HobLbaMid : drive.LbaMid;
            case AtaRegisters.LbaHigh:
                return hob ? drive.HobLbaHigh : drive.LbaHigh;
            case AtaRegisters.Device:
                return drive.Device;
            default:
                _interruptPending = false;
                UpdateInterrupt();
                return drive.Status;
        }
    }

    private void WriteRegister(int offset, byte value)
    {
        // Any write to the command block clears HOB (ATA/ATAPI-7 vol 1, 7.8).
        _deviceControl &= unchecked((byte)~AtaRegisters.ControlHighOrderByte);
        if (offset == AtaRegisters.StatusOrCommand)
        {
            ExecuteCommand(value);
            return;
        }

        foreach (IdeDrive? drive in _drives)
        {
            if (drive is null)
            {
                continue;
            }

            switch (offset)
            {
                case AtaRegisters.ErrorOrFeatures:
                    drive.HobFeatures = drive.Features;
                    drive.Features = value;
                    break;
                case AtaRegisters.SectorCount:
                    drive.HobSectorCount = drive.SectorCount;
                    drive.SectorCount = value;
                    break;
                case AtaRegisters.LbaLow:
                    drive.HobLbaLow = drive.LbaLow;
                    drive.LbaLow = value;
                    break;
                case AtaRegisters.LbaMid:
                    drive.HobLbaMid = drive.LbaMid;
                    drive.LbaMid = value;
                    break;
                case AtaRegisters.LbaHigh:
                    drive.HobLbaHigh = drive.LbaHigh;
                    drive.LbaHigh = value;
                    break;
                default:
                    drive.Device = (byte)(value | AtaRegisters.DeviceObsoleteBits);
                    break;
            }
        }

        if (offset == AtaRegisters.Device)
        {
            _selected = (value & AtaRegisters.DeviceSelect) != 0 ? 1 : 0;
        }
    }

    private ushort ReadData()
    {
        IdeDrive? drive = Selected;
        if (drive is null || drive.Phase != IdeTransferPhase.PioIn)
        {
            GuestErrorCount++;
            return 0;
        }

        int position = drive.BufferPosition;
        ushort value = (ushort)(drive.Buffer[position] | (position + 1 < drive.BufferLength ? drive.Buffer[position + 1] << 8 : 0));
        drive.BufferPosition = position + 2;
        if (drive.BufferPosition >= drive.BufferLength)
        {
            if (drive.IsAtapi)
            {
                NextAtapiPioBlock(drive);
            }
            else
            {
                NextAtaPioReadBlock(drive);
            }
        }

        return value;
    }

    private void WriteData(ushort value)
    {
        IdeDrive? drive = Selected;
        if (drive is null || drive.Phase is not (IdeTransferPhase.PioOut or IdeTransferPhase.Packet))
        {
            GuestErrorCount++;
            return;
        }

        int position = drive.BufferPosition;
        drive.Buffer[position] = (byte)value;
        drive.Buffer[position + 1] = (byte)(value >> 8);
        drive.BufferPosition = position + 2;
        if (drive.BufferPosition < drive.BufferLength)
        {
            return;
        }

        if (drive.Phase == IdeTransferPhase.Packet)
        {
            ExecutePacket(drive);
        }
        else
        {
            AtaPioWriteBlockDone(drive);
        }
    }

    private void ExecuteCommand(byte command)
    {
        IdeDrive? drive = Selected;
        if (drive is null)
        {
            // ATA/ATAPI-7 vol 2, 5.2.13: device 0 does not execute commands addressed to an absent device 1.
            GuestErrorCount++;
            return;
        }

        if ((_deviceControl & AtaRegisters.ControlSoftwareReset) != 0)
        {
            GuestErrorCount++;
            return;
        }

        // Writing the command register clears a pending interrupt (7.4) and abandons a transfer the guest left.
        _interruptPending = false;
        UpdateInterrupt();
        drive.CancelTransfer();
        drive.Command = command;
        if (_logger.IsEnabled(LogLevel.Trace))
        {
            IdeLog.Command(_logger, Name, drive.Position & 1, command);
        }

        if (command == AtaCommands.ExecuteDeviceDiagnostic)
        {
            ExecuteDeviceDiagnostic();
        }
        else if (drive.IsAtapi)
        {
            ExecuteAtapiDeviceCommand(drive, command);
        }
        else
        {
            ExecuteAtaCommand(drive, command);
        }
    }

    /// <summary>EXECUTE DEVICE DIAGNOSTIC (6.23): every drive shows its signature and "passed"; device 0 is selected.</summary>
    private void ExecuteDeviceDiagnostic()
    {
        foreach (IdeDrive? drive in _drives)
        {
            if (drive is null)
            {
                continue;
            }

            drive.CancelTransfer();
            drive.SetSignature();
            drive.Error = AtaRegisters.DiagnosticPassed;

            // A packet device clears BSY and leaves DRDY clear (ATA/ATAPI-7 vol 2, 9.10).
            drive.Status = drive.IsAtapi ? (byte)0 : (byte)(AtaRegisters.StatusReady | AtaRegisters.StatusSeekComplete);
        }

        _selected = 0;
        RaiseInterrupt();
    }

    /// <summary>A command without data ended well.</summary>
    private void CompleteWithoutData(IdeDrive drive)
    {
        drive.CancelTransfer();
        drive.Status = AtaRegisters.StatusReady | AtaRegisters.StatusSeekComplete;
        drive.Error = 0;
        RaiseInterrupt();
    }

    /// <summary>A command ended with an error: ERR in the status, the reason in the error register, and the interrupt.</summary>
    private void Fail(IdeDrive drive, byte error)
    {
        drive.CancelTransfer();
        drive.Status = AtaRegisters.StatusReady | AtaRegisters.StatusError;
        drive.Error = error;
        RaiseInterrupt();
    }

    /// <summary>Starts a PIO data-in block of <paramref name="length"/> bytes already in the drive's buffer.</summary>
    private void StartPioIn(IdeDrive drive, int length, bool interrupt = true)
    {
        drive.Phase = IdeTransferPhase.PioIn;
        drive.BufferPosition = 0;
        drive.BufferLength = length;
        drive.Status = AtaRegisters.StatusReady | AtaRegisters.StatusSeekComplete | AtaRegisters.StatusDataRequest;
        if (interrupt)
        {
            RaiseInterrupt();
        }
    }

    /// <summary>Hands the guest <paramref name="destination"/>'s worth of the read in progress: read-ahead bytes first, then the medium.</summary>
    /// <exception cref="IOException">When the host cannot read the medium.</exception>
    private static void Fetch(IdeDrive drive, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            if (drive.StagingPosition == drive.StagingLength)
            {
                int blockSize = drive.BlockSize;
                int blocks = (int)Math.Min(drive.Staging.Length / blockSize, drive.RemainingSectors);
                if (blocks == 0 || drive.Medium is not { } medium)
                {
                    // The command's byte count and its sectors agree by construction; running dry means the medium went away.
                    throw new IOException("The medium has no more data for this transfer.");
                }

                medium.Read(drive.NextLba * blockSize, drive.Staging.AsSpan(0, blocks * blockSize));
                drive.NextLba += blocks;
                drive.RemainingSectors -= blocks;
                drive.StagingPosition = 0;
                drive.StagingLength = blocks * blockSize;
            }

            int n = Math.Min(destination.Length, drive.StagingLength - drive.StagingPosition);
            drive.Staging.AsSpan(drive.StagingPosition, n).CopyTo(destination);
            drive.StagingPosition += n;
            destination = destination[n..];
        }
    }

    private void CountHostError(IdeDrive drive, Exception e)
    {
        HostErrorCount++;
        if (_logger.IsEnabled(LogLevel.Warning))
        {
            IdeLog.HostFailure(_logger, Name, drive.Position & 1, drive.Medium?.Name, e.Message);
        }
    }
}
