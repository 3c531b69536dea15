using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// An Intel 82077AA-compatible floppy disk controller (datasheet 290166) in PC/AT mode, as on the PC's ISA bus: registers
/// at 3F0h-3F5h and 3F7h (3F6h between them belongs to the IDE controller's alternate status), IRQ 6, DMA channel 2, and
/// up to two drives (A: and B:) whose media are <see cref="IBlockDevice"/> images of a supported size
/// (<see cref="FloppyGeometry"/>).
/// </summary>
/// <remarks>
/// <para>
/// Registers: SRA and SRB (PS/2 layout, read-only), DOR (drive select, reset, DMA/IRQ gate, motors), TDR, MSR (read) and
/// DSR (write), the data FIFO, DIR (disk change, read) and CCR (data rate, write). Commands: READ DATA, WRITE DATA, READ
/// TRACK, READ ID, FORMAT TRACK, RECALIBRATE, SEEK (absolute and relative), SENSE INTERRUPT STATUS, SENSE DRIVE STATUS,
/// SPECIFY, CONFIGURE (implied seek), VERSION, LOCK, PERPENDICULAR MODE and DUMPREG, with multi-track transfers, DMA and
/// non-DMA (PIO) execution. Other opcodes (READ/WRITE DELETED DATA, VERIFY, SCAN, PART ID) answer "invalid command"
/// (ST0 80h), which is what an 82077AA without them answers and what Linux's probe expects of one.
/// </para>
/// <para>
/// Timing: commands that interrupt (the data commands, READ ID, SEEK, RECALIBRATE) and the end of a reset complete
/// <see cref="CommandDelayNanoseconds"/> (<see cref="SeekDelayNanoseconds"/> for seeks) of guest time after their last
/// command byte, so a guest that clears its "interrupt seen" flag after sending the command (SeaBIOS's
/// <c>floppy_wait_irq</c>) sees the interrupt come after it; commands without an interrupt have their result at once. The
/// transfer itself takes no guest time, and the motors and rotation are not modelled (a stopped motor reads).
/// </para>
/// <para>
/// Deliberate choices: reading past the command's EOT without DMA terminal count ends with abnormal termination and ST1
/// EN (datasheet, "Data Transfer Termination"), which Linux accepts; a reset always queues four "ready changed" SENSE
/// INTERRUPT STATUS results (C0h-C3h), as QEMU does, whatever the CONFIGURE polling bit says; they are dropped when
/// another command begins, so a guest that reads only the first (SeaBIOS) gets the seek status it waits for next. The data
/// rate must match the medium's (<see cref="FloppyGeometry.DataRate"/>) or the controller finds no address mark (ST1
/// MA), which is how SeaBIOS's and Linux's media sense tell media apart. A medium that fails on the host (an
/// <see cref="IOException"/>) gives abnormal termination with ST1 DE (data error).
/// </para>
/// </remarks>
/// <seealso href="https://wiki.osdev.org/Floppy_Disk_Controller"/>
public sealed partial class Floppy82077 : IPortMappedDevice, IStatefulDevice<Floppy82077State>
{
    /// <summary>The default first port (3F0h, the primary controller).</summary>
    public const ushort DefaultBasePort = 0x3F0;

    /// <summary>The ISA IRQ of the primary controller.</summary>
    public const int Irq = 6;

    /// <summary>The ISA DMA channel of the primary controller.</summary>
    public const int DmaChannel = 2;

    /// <summary>The number of drives that can hold media (A: and B:).</summary>
    public const int DriveCount = 2;

    /// <summary>The guest time from the last command byte to the interrupt of a data command, READ ID or a reset.</summary>
    public const long CommandDelayNanoseconds = 20_000;

    /// <summary>The guest time a SEEK or RECALIBRATE takes (any distance).</summary>
    public const long SeekDelayNanoseconds = 100_000;

    /// <summary>The VERSION result of an 82077AA (90h; an 8272A/765A answers 80h).</summary>
    public const byte VersionEnhanced = 0x90;

    private const int DriveSelects = 4;
    private const int SectorSize = FloppyGeometry.SectorSizeInBytes;
    private const int SizeCode512 = 2;
    private const int MaxCommandBytes = 9;
    private const int MaxResultBytes = 10;
    private const int MaxLoggedMisuses = 32;
    private const byte OpenBus = 0xFF;

    // Register offsets from the base port (datasheet Table 1).
    private const int RegisterSra = 0;
    private const int RegisterSrb = 1;
    private const int RegisterDor = 2;
    private const int RegisterTdr = 3;
    private const int RegisterMsrDsr = 4;
    private const int RegisterFifo = 5;

    // DOR bits.
    private const byte DorDriveSelectMask = 0x03;
    private const byte DorNotReset = 0x04;
    private const byte DorDmaGate = 0x08;
    private const int DorMotorShift = 4;

    // MSR bits.
    private const byte MsrRequestForMaster = 0x80;
    private const byte MsrDataToHost = 0x40;
    private const byte MsrNonDma = 0x20;
    private const byte MsrCommandBusy = 0x10;

    // DSR bits.
    private const byte DsrSoftwareReset = 0x80;
    private const byte DsrRateMask = 0x03;

    /// <summary>DIR bit 7: disk changed.</summary>
    private const byte DirDiskChanged = 0x80;

    // SRA/SRB bits (PS/2 mode).
    private const byte SraInterruptPending = 0x80;
    private const byte SraNoSecondDrive = 0x40;
    private const byte SraNotTrack0 = 0x10;
    private const byte SraHeadSelect = 0x08;
    private const byte SraNotIndex = 0x04;
    private const byte SraNotWriteProtect = 0x02;
    private const byte SrbReserved = 0xC0;
    private const int SrbDriveSelectShift = 5;

    // ST0 bits.
    private const byte St0AbnormalTermination = 0x40;
    private const byte St0InvalidCommand = 0x80;
    private const byte St0ReadyChanged = 0xC0;
    private const byte St0SeekEnd = 0x20;
    private const byte St0EquipmentCheck = 0x10;
    private const int St0HeadShift = 2;

    // ST1 bits.
    private const byte St1EndOfCylinder = 0x80;
    private const byte St1DataError = 0x20;
    private const byte St1Overrun = 0x10;
    private const byte St1NoData = 0x04;
    private const byte St1NotWritable = 0x02;
    private const byte St1MissingAddressMark = 0x01;

    // ST2 bits.
    private const byte St2WrongCylinder = 0x10;
    private const byte St2BadCylinder = 0x02;

    // ST3 bits: RDY and the two-sided bit read 1 on the 82077AA.
    private const byte St3WriteProtected = 0x40;
    private const byte St3Ready = 0x20;
    private const byte St3Track0 = 0x10;
    private const byte St3TwoSided = 0x08;

    // Command byte bits.
    private const byte CommandMultiTrack = 0x80;
    private const byte CommandMfm = 0x40;
    private const byte CommandOpcodeMask = 0x1F;
    private const byte RelativeSeek = 0x80;
    private const byte RelativeSeekInward = 0x40;

    // SPECIFY/CONFIGURE bits.
    private const byte SpecifyNonDma = 0x01;
    private const byte ConfigureImpliedSeek = 0x40;
    private const byte ConfigureFifoDisabled = 0x20;
    private const byte PerpendicularOverwrite = 0x80;
    private const byte PerpendicularGapWgateMask = 0x03;
    private const byte LockBit = 0x80;

    private readonly IVirtualClock _clock;
    private readonly IInterruptLine _irq;
    private readonly IDmaChannel _dma;
    private readonly ILogger _logger;
    private readonly IDeviceTimer _commandTimer;
    private readonly IDeviceTimer[] _seekTimers = new IDeviceTimer[DriveSelects];
    private readonly Drive[] _drives = new Drive[DriveSelects];
    private readonly byte[] _command = new byte[MaxCommandBytes];
    private readonly byte[] _result = new byte[MaxResultBytes];
    private readonly byte[] _sector = new byte[SectorSize];

    private byte _dor;
    private byte _tdr;
    private byte _dsr;
    private int _dataRate;
    private Phase _phase;
    private int _commandCount;
    private int _resultLength;
    private int _resultIndex;
    private bool _interruptPending;
    private int _resetSenses;
    private byte _specify1;
    private byte _specify2;
    private byte _configure;
    private byte _pretrack;
    private bool _locked;
    private byte _perpendicular;
    private Operation _operation;
    private int _opDrive;
    private int _opHead;
    private byte _c;
    private byte _h;
    private byte _r;
    private byte _n;
    private byte _eot;
    private bool _multiTrack;
    private bool _awaitingDma;
    private int _sectorPosition;
    private int _formatRemaining;
    private PendingEvent _pending;
    private byte _formatFiller;
    private byte _formatError;

    /// <summary>Creates the controller with its drives.</summary>
    /// <param name="clock">The machine's virtual clock.</param>
    /// <param name="irq">The line IRQ 6.</param>
    /// <param name="dma">DMA channel 2.</param>
    /// <param name="media">The media of drives A: and B: (null for no drive); each a supported size (see <see cref="FloppyGeometry"/>).</param>
    /// <param name="logger">A logger for guest misuse (debug level, the first few); null for none.</param>
    /// <param name="basePort">The first port (default 3F0h); the DIR/CCR port is base + 7.</param>
    /// <exception cref="ArgumentException">When a medium's size or sector size is not one of a floppy.</exception>
    public Floppy82077(IVirtualClock clock, IInterruptLine irq, IDmaChannel dma, IReadOnlyList<IBlockDevice?> media, ILogger<Floppy82077>? logger = null, ushort basePort = DefaultBasePort)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(irq);
        ArgumentNullException.ThrowIfNull(dma);
        ArgumentNullException.ThrowIfNull(media);
        if (media.Count > DriveCount)
        {
            throw new ArgumentException($"The controller has {DriveCount} drives; {media.Count} media were given.", nameof(media));
        }

        _clock = clock;
        _irq = irq;
        _dma = dma;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        for (int i = 0; i < DriveSelects; i++)
        {
            IBlockDevice? medium = i < media.Count ? media[i] : null;
            _drives[i] = new Drive { Present = medium is not null };
            if (medium is not null)
            {
                _drives[i].Insert(medium, CheckMedium(medium, nameof(media)));
            }

            int drive = i;
            _seekTimers[i] = clock.CreateTimer($"FDC drive {i} seek", () => CompleteSeek(drive));
        }

        _commandTimer = clock.CreateTimer("FDC command", OnCommandTimer);
        _dma.Attach(OnDmaService);
        PortBindings =
        [
            new PortBinding("FDC", basePort, 6, new MainPorts(this)),
            new PortBinding("FDC DIR/CCR", (ushort)(basePort + 7), 1, new DirPort(this)),
        ];
        Reset();
    }

    private enum Phase
    {
        Command = 0,
        Busy = 1,
        PioRead = 2,
        PioWrite = 3,
        PioFormat = 4,
        Result = 5,
        Reset = 6,
    }

    private enum Operation
    {
        None = 0,
        Read = 1,
        Write = 2,
        ReadTrack = 3,
        Format = 4,
        ReadId = 5,
    }

    private enum PendingEvent
    {
        None = 0,
        Execute = 1,
        ResetDone = 2,
    }

    /// <inheritdoc/>
    public string Name => "FDC";

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings { get; }

    /// <summary>How many times the guest misused the controller (bytes outside the phase that takes them, reads of write-only registers).</summary>
    public long GuestMisuseCount { get; private set; }

    /// <summary>The geometry of the medium in a drive, or null when the drive is empty or absent.</summary>
    /// <param name="drive">0 (A:) or 1 (B:).</param>
    /// <returns>The geometry.</returns>
    public FloppyGeometry? GetGeometry(int drive) => DriveAt(drive).Geometry;

    /// <summary>Whether drive <paramref name="drive"/> is connected (given to the constructor, even if now empty).</summary>
    /// <param name="drive">0 (A:) or 1 (B:).</param>
    /// <returns>True for a connected drive.</returns>
    public bool IsDrivePresent(int drive) => DriveAt(drive).Present;

    /// <summary>The medium in a drive, or null when the drive is empty or absent.</summary>
    /// <param name="drive">0 (A:) or 1 (B:).</param>
    /// <returns>The medium.</returns>
    public IBlockDevice? GetMedium(int drive) => DriveAt(drive).Medium;

    /// <summary>Puts a medium in a drive (the drive reports a disk change), replacing what was there.</summary>
    /// <param name="drive">0 (A:) or 1 (B:); the drive must exist.</param>
    /// <param name="medium">The medium, of a supported size.</param>
    public void InsertMedium(int drive, IBlockDevice medium)
    {
        ArgumentNullException.ThrowIfNull(medium);
        Drive d = DriveAt(drive);
        if (!d.Present)
        {
            throw new InvalidOperationException($"Floppy drive {drive} is not connected.");
        }

        d.Insert(medium, CheckMedium(medium, nameof(medium)));
    }

    /// <summary>Takes the medium out of a drive (the drive reports a disk change).</summary>
    /// <param name="drive">0 (A:) or 1 (B:).</param>
    public void EjectMedium(int drive)
    {
        Drive d = DriveAt(drive);
        d.Medium = null;
        d.Geometry = null;
        d.DiskChanged = true;
    }

    /// <summary>Hardware reset: a controller reset with the registers CONFIGURE and LOCK protect cleared too, 250 kbit/s, DOR 0 (held in reset).</summary>
    public void Reset()
    {
        _locked = false;
        _configure = ConfigureFifoDisabled;
        _pretrack = 0;
        _perpendicular = 0;
        _dataRate = FloppyGeometry.Rate250Kbps;
        _dsr = 0;
        _tdr = 0;
        _specify1 = 0;
        _specify2 = 0;
        _dor = 0;
        foreach (Drive d in _drives)
        {
            d.Cylinder = 0;
            d.Head = 0;
            d.NextSector = 1;
            d.DiskChanged = true;
            d.PendingStatus = -1;
            d.SeekTarget = -1;
        }

        ControllerReset();
        _phase = Phase.Reset;
        _resetSenses = 0;
    }

    /// <inheritdoc/>
    public Floppy82077State SaveState() => new(
        Floppy82077State.CurrentVersion, _dor, _tdr, _dsr, _dataRate, (int)_phase, (byte[])_command.Clone(), _commandCount,
        (byte[])_result.Clone(), _resultLength, _resultIndex, _interruptPending, _resetSenses, _specify1, _specify2, _configure,
        _pretrack, _locked, _perpendicular, (int)_operation, _opDrive, _opHead, _c, _h, _r, _n, _eot, _multiTrack, _awaitingDma,
        (byte[])_sector.Clone(), _sectorPosition, _formatRemaining, _formatFiller, _formatError, (int)_pending, _commandTimer.DeadlineNanoseconds,
        [.. _drives.Select((d, i) => new FloppyDriveState(d.Cylinder, d.Head, d.NextSector, d.DiskChanged, d.SeekTarget, _seekTimers[i].DeadlineNanoseconds, d.SeekStatus, d.PendingStatus))]);

    /// <inheritdoc/>
    public void RestoreState(Floppy82077State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != Floppy82077State.CurrentVersion)
        {
            throw new ArgumentException($"Floppy82077State.Version {state.Version} is not supported (expected {Floppy82077State.CurrentVersion}).", nameof(state));
        }

        bool valid = state.Command is { Length: MaxCommandBytes } && state.Result is { Length: MaxResultBytes } && state.Sector is { Length: SectorSize }
            && state.Drives is { Length: DriveSelects } && state.Drives.All(d => d is not null && d.Cylinder is >= 0 and <= 255 && d.Head is 0 or 1
                && d.NextSector is >= 1 and <= 255 && d.SeekTarget is >= -1 and <= 255 && d.PendingStatus is >= -1 and <= 255 && d.SeekStatus is >= 0 and <= 255)
            && Enum.IsDefined((Phase)state.Phase) && Enum.IsDefined((Operation)state.Operation) && Enum.IsDefined((PendingEvent)state.PendingEvent)
            && state.CommandCount is >= 0 and <= MaxCommandBytes && state.ResultLength is >= 0 and <= MaxResultBytes
            && state.ResultIndex >= 0 && state.ResultIndex <= state.ResultLength && state.DataRate is >= 0 and <= 3
            && state.ResetSenses is >= 0 and <= DriveSelects && state.Drive is >= 0 and < DriveSelects && state.PhysicalHead is 0 or 1
            && state.SectorPosition is >= 0 and <= SectorSize && state.FormatRemaining >= 0;
        if (!valid)
        {
            throw new ArgumentException("Floppy82077State has a missing array or a field out of range.", nameof(state));
        }

        _dor = state.Dor;
        _tdr = state.Tdr;
        _dsr = state.Dsr;
        _dataRate = state.DataRate;
        _phase = (Phase)state.Phase;
        state.Command.CopyTo(_command, 0);
        _commandCount = state.CommandCount;
        state.Result.CopyTo(_result, 0);
        _resultLength = state.ResultLength;
        _resultIndex = state.ResultIndex;
        _interruptPending = state.InterruptPending;
        _resetSenses = state.ResetSenses;
        _specify1 = state.Specify1;
        _specify2 = state.Specify2;
        _configure = state.Configure;
        _pretrack = state.Pretrack;
        _locked = state.Locked;
        _perpendicular = state.Perpendicular;
        _operation = (Operation)state.Operation;
        _opDrive = state.Drive;
        _opHead = state.PhysicalHead;
        _c = state.Cylinder;
        _h = state.HeadId;
        _r = state.SectorId;
        _n = state.SizeCode;
        _eot = state.EndOfTrack;
        _multiTrack = state.MultiTrack;
        _awaitingDma = state.AwaitingDma;
        state.Sector.CopyTo(_sector, 0);
        _sectorPosition = state.SectorPosition;
        _formatRemaining = state.FormatRemaining;
        _formatFiller = state.FormatFiller;
        _formatError = state.FormatError;
        _pending = (PendingEvent)state.PendingEvent;
        Schedule(_commandTimer, _pending == PendingEvent.None ? long.MaxValue : state.PendingDeadlineNanoseconds);
        for (int i = 0; i < DriveSelects; i++)
        {
            FloppyDriveState s = state.Drives[i];
            Drive d = _drives[i];
            d.Cylinder = s.Cylinder;
            d.Head = s.Head;
            d.NextSector = s.NextSector;
            d.DiskChanged = s.DiskChanged;
            d.SeekTarget = s.SeekTarget;
            d.SeekStatus = s.SeekStatus;
            d.PendingStatus = s.PendingStatus;
            Schedule(_seekTimers[i], s.SeekTarget < 0 ? long.MaxValue : s.SeekDeadlineNanoseconds);
        }

        // The DMA controller restores its own record of the DREQ level; the IRQ line is driven again from the restored INT.
        _irq.SetLevel(IrqLevel);
    }

    private bool IrqLevel => _interruptPending && (_dor & DorDmaGate) != 0;

    private bool NonDma => (_specify2 & SpecifyNonDma) != 0;

    private static void Schedule(IDeviceTimer timer, long deadline)
    {
        if (deadline == long.MaxValue)
        {
            timer.Cancel();
        }
        else
        {
            timer.ScheduleAt(deadline);
        }
    }

    private static FloppyGeometry CheckMedium(IBlockDevice medium, string parameter)
    {
        if (medium.SectorSize != SectorSize)
        {
            throw new ArgumentException($"Floppy medium '{medium.Name}': sector size {medium.SectorSize}; floppies have {SectorSize}-byte sectors.", parameter);
        }

        try
        {
            return FloppyGeometry.FromCapacity(medium.CapacityInBytes);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Floppy medium '{medium.Name}': {e.Message}", parameter, e);
        }
    }

    private Drive DriveAt(int drive)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(drive);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(drive, DriveCount);
        return _drives[drive];
    }

    private void Misuse(string what, int value)
    {
        GuestMisuseCount++;
        if (GuestMisuseCount <= MaxLoggedMisuses && _logger.IsEnabled(LogLevel.Debug))
        {
            LogMisuse(_logger, what, value);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "FDC: guest misuse: {What} ({Value:X2}h)")]
    private static partial void LogMisuse(ILogger logger, string what, int value);

    /// <summary>INT (and so IRQ 6) goes active; a level already active drops first, so the 8259's edge input sees a new edge.</summary>
    private void RaiseInterrupt()
    {
        if (_interruptPending && IrqLevel)
        {
            _irq.SetLevel(false);
        }

        _interruptPending = true;
        _irq.SetLevel(IrqLevel);
    }

    private void LowerInterrupt()
    {
        _interruptPending = false;
        _irq.SetLevel(false);
    }

    /// <summary>The DMA request as the DMA controller sees it: the DOR's DMA gate enables DRQ in AT mode.</summary>
    private void UpdateDmaRequest() => _dma.SetRequest(_awaitingDma && (_dor & DorDmaGate) != 0);

    /// <summary>
    /// The reset of the controller core (DOR reset or DSR software reset): the command in progress is dropped and the
    /// configuration not LOCKed returns to its defaults (datasheet "Reset").
    /// </summary>
    private void ControllerReset()
    {
        _commandTimer.Cancel();
        _pending = PendingEvent.None;
        _commandCount = 0;
        _resultLength = 0;
        _resultIndex = 0;
        _operation = Operation.None;
        _sectorPosition = 0;
        _formatRemaining = 0;
        _formatError = 0;
        if (_awaitingDma)
        {
            _awaitingDma = false;
            UpdateDmaRequest();
        }

        if (!_locked)
        {
            _configure = ConfigureFifoDisabled;
            _pretrack = 0;
        }

        // Software resets keep the perpendicular drive bits but clear GAP and WGATE (datasheet, PERPENDICULAR MODE).
        _perpendicular &= unchecked((byte)~PerpendicularGapWgateMask);
        for (int i = 0; i < DriveSelects; i++)
        {
            _seekTimers[i].Cancel();
            _drives[i].SeekTarget = -1;
            _drives[i].PendingStatus = -1;
        }

        LowerInterrupt();
    }

    private byte ReadMsr()
    {
        byte busyDrives = 0;
        for (int i = 0; i < DriveSelects; i++)
        {
            if (_drives[i].SeekTarget >= 0 || _drives[i].PendingStatus >= 0)
            {
                busyDrives |= (byte)(1 << i);
            }
        }

        byte phase = _phase switch
        {
            Phase.Command => _commandCount == 0 ? MsrRequestForMaster : (byte)(MsrRequestForMaster | MsrCommandBusy),
            Phase.Busy => MsrCommandBusy,
            Phase.PioRead => MsrRequestForMaster | MsrDataToHost | MsrNonDma | MsrCommandBusy,
            Phase.PioWrite or Phase.PioFormat => MsrRequestForMaster | MsrNonDma | MsrCommandBusy,
            Phase.Result => MsrRequestForMaster | MsrDataToHost | MsrCommandBusy,
            _ => 0,
        };
        return (byte)(phase | busyDrives);
    }

    private void WriteDor(byte value)
    {
        byte old = _dor;
        _dor = value;
        if ((value & DorNotReset) == 0)
        {
            if ((old & DorNotReset) != 0 || _phase != Phase.Reset)
            {
                ControllerReset();
                _phase = Phase.Reset;
            }
        }
        else if (_phase == Phase.Reset)
        {
            LeaveReset();
        }

        // The gate may have opened or closed on INT and DRQ.
        _irq.SetLevel(IrqLevel);
        UpdateDmaRequest();
    }

    private void WriteDsr(byte value)
    {
        _dataRate = value & DsrRateMask;
        _dsr = (byte)(value & ~(DsrSoftwareReset | DsrRateMask));
        if ((value & DsrSoftwareReset) != 0 && (_dor & DorNotReset) != 0)
        {
            // The DSR reset bit clears itself once the reset is done.
            ControllerReset();
            LeaveReset();
        }
    }

    /// <summary>The end of a reset: ready for a command, and after a short while the "ready changed" interrupt.</summary>
    private void LeaveReset()
    {
        _phase = Phase.Command;
        _commandCount = 0;
        _pending = PendingEvent.ResetDone;
        _commandTimer.ScheduleAt(_clock.NowNanoseconds + CommandDelayNanoseconds);
    }

    private void OnCommandTimer()
    {
        PendingEvent pending = _pending;
        _pending = PendingEvent.None;
        switch (pending)
        {
            case PendingEvent.ResetDone:
                _resetSenses = DriveSelects;
                RaiseInterrupt();
                break;
            case PendingEvent.Execute:
                StartExecution();
                break;
            default:
                break;
        }
    }

    private byte ReadSra()
    {
        Drive d = _drives[_dor & DorDriveSelectMask];
        byte value = SraNotIndex;
        value |= _interruptPending ? SraInterruptPending : (byte)0;
        value |= _drives[1].Present ? (byte)0 : SraNoSecondDrive;
        value |= d.Cylinder == 0 ? (byte)0 : SraNotTrack0;
        value |= d.Head != 0 ? SraHeadSelect : (byte)0;
        value |= d.Medium is { IsReadOnly: true } ? (byte)0 : SraNotWriteProtect;
        return value;
    }

    private byte ReadSrb() => (byte)(SrbReserved | ((_dor & 1) << SrbDriveSelectShift) | ((_dor >> DorMotorShift) & 0x03));

    private byte ReadDir()
    {
        Drive d = _drives[_dor & DorDriveSelectMask];

        // Bits 6-0 are not driven in PC/AT mode (the IDE controller's drive address register shares the port on some boards).
        return d.DiskChanged ? DirDiskChanged : (byte)0;
    }

    /// <summary>One drive select: the drive's presence, medium and head position.</summary>
    private sealed class Drive
    {
        public bool Present;
        public IBlockDevice? Medium;
        public FloppyGeometry? Geometry;
        public int Cylinder;
        public int Head;
        public int NextSector = 1;
        public bool DiskChanged = true;
        public int SeekTarget = -1;
        public int SeekStatus;
        public int PendingStatus = -1;

        public void Insert(IBlockDevice medium, FloppyGeometry geometry)
        {
            Medium = medium;
            Geometry = geometry;
            DiskChanged = true;
        }
    }

    private sealed class MainPorts(Floppy82077 owner) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.Byte;

        public uint Read(ushort offset, int sizeInBytes) => offset switch
        {
            RegisterSra => owner.ReadSra(),
            RegisterSrb => owner.ReadSrb(),
            RegisterDor => owner._dor,
            RegisterTdr => owner._tdr,
            RegisterMsrDsr => owner.ReadMsr(),
            RegisterFifo => owner.ReadFifo(),
            _ => OpenBus,
        };

        public void Write(ushort offset, int sizeInBytes, uint value)
        {
            byte b = (byte)value;
            switch (offset)
            {
                case RegisterDor:
                    owner.WriteDor(b);
                    break;
                case RegisterTdr:
                    owner._tdr = (byte)(b & 0x03);
                    break;
                case RegisterMsrDsr:
                    owner.WriteDsr(b);
                    break;
                case RegisterFifo:
                    owner.WriteFifo(b);
                    break;
                default:
                    owner.Misuse("write to a status register", offset);
                    break;
            }
        }
    }

    private sealed class DirPort(Floppy82077 owner) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.Byte;

        public uint Read(ushort offset, int sizeInBytes) => owner.ReadDir();

        public void Write(ushort offset, int sizeInBytes, uint value) => owner._dataRate = (int)(value & DsrRateMask);
    }
}
