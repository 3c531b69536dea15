using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// A National Semiconductor / TI 16550A UART ("PC16550D Universal Asynchronous Receiver/Transmitter
/// with FIFOs", NS datasheet, and TI's TL16C550C): eight registers at a base port, 16-byte receive and
/// transmit FIFOs, interrupts by priority, character timeout, loopback. The host end of the line is an
/// <see cref="ISerialBackend"/>; no byte is lost in either direction: host input stays in the backend
/// while the receive FIFO is full, and output the host does not take stays in the transmitter.
/// </summary>
/// <remarks>
/// Registers (offset, DLAB): 0 RBR/THR (DLAB 0) or DLL (DLAB 1); 1 IER (DLAB 0) or DLM (DLAB 1);
/// 2 IIR (read) / FCR (write); 3 LCR; 4 MCR; 5 LSR; 6 MSR; 7 SCR. The baud clock is the PC's
/// 1.8432 MHz crystal, so the baud rate is 115200 / divisor.
/// </remarks>
public sealed class Uart16550 : IPortMappedDevice, IPortDevice, IStatefulDevice<Uart16550State>
{
    /// <summary>The capacity of each FIFO.</summary>
    public const int FifoDepth = 16;

    /// <summary>The input clock of a PC serial port in hertz (1.8432 MHz crystal).</summary>
    public const long InputClockHertz = 1_843_200;

    // Register bits, named after the datasheet (PC16550D, Table II "Summary of Registers").
    private const byte IerErbfi = 0x01; // enable received data available interrupt
    private const byte IerEtbei = 0x02; // enable transmitter holding register empty interrupt
    private const byte IerElsi = 0x04;  // enable receiver line status interrupt
    private const byte IerEdssi = 0x08; // enable modem status interrupt
    private const byte LcrDlab = 0x80;
    private const byte McrDtr = 0x01;
    private const byte McrRts = 0x02;
    private const byte McrOut1 = 0x04;
    private const byte McrOut2 = 0x08;
    private const byte McrLoop = 0x10;
    private const byte LsrDr = 0x01;
    private const byte LsrOe = 0x02;
    private const byte LsrThre = 0x20;
    private const byte LsrTemt = 0x40;
    private const byte LsrErrorBits = 0x1E; // OE, PE, FE, BI
    private const byte MsrCts = 0x10;
    private const byte MsrDsr = 0x20;
    private const byte MsrRi = 0x40;
    private const byte MsrDcd = 0x80;
    private const byte FcrEnable = 0x01;
    private const byte FcrClearReceive = 0x02;
    private const byte FcrClearTransmit = 0x04;

    // IIR interrupt identification codes (bits 3-0), PC16550D Table IV, highest priority first.
    private const byte IirNone = 0x01;
    private const byte IirLineStatus = 0x06;
    private const byte IirReceivedData = 0x04;
    private const byte IirCharacterTimeout = 0x0C;
    private const byte IirThrEmpty = 0x02;
    private const byte IirModemStatus = 0x00;

    private readonly UartOptions _options;
    private readonly IInterruptLine _irq;
    private readonly IVirtualClock _clock;
    private readonly ISerialBackend _backend;
    private readonly ILogger _logger;
    private readonly IDeviceTimer _transmitTimer;
    private readonly IDeviceTimer _receiveTimer;
    private readonly IDeviceTimer _timeoutTimer;
    private readonly PortBinding[] _bindings;
    private readonly byte[] _receiveFifo = new byte[FifoDepth];
    private readonly byte[] _transmitFifo = new byte[FifoDepth];
    private int _receiveHead;
    private int _receiveCount;
    private int _transmitHead;
    private int _transmitCount;
    private byte _transmitShift;
    private bool _transmitShiftFull;
    private bool _transmitShiftBlocked;
    private byte _ier;
    private byte _lcr;
    private byte _mcr;
    private byte _fcr;
    private byte _lsrErrors;
    private byte _msrDeltas;
    private byte _scratch;
    private ushort _divisor;
    private bool _thrEmptyInterruptPending;
    private bool _timeoutPending;
    private byte _lastReceived;

    /// <summary>Creates the UART in its reset state.</summary>
    /// <param name="options">Name, base port and pacing.</param>
    /// <param name="irq">The interrupt line (the board connects it to IRQ 4 or 3).</param>
    /// <param name="clock">The virtual clock, for pacing, polling and the character timeout.</param>
    /// <param name="backend">The host end of the line.</param>
    /// <param name="logger">Logs counted guest misuse at debug level; none when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">When the base port leaves no room for eight ports or the poll interval is not positive.</exception>
    public Uart16550(UartOptions options, IInterruptLine irq, IVirtualClock clock, ISerialBackend backend, ILogger<Uart16550>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(irq);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentException.ThrowIfNullOrEmpty(options.Name);
        if (options.BasePort > 0xFFF8)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"{options.Name}: base port {options.BasePort:X4}h leaves no room for eight ports.");
        }

        if (options.PollIntervalNanoseconds <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"{options.Name}: poll interval {options.PollIntervalNanoseconds} ns must be positive.");
        }

        _options = options;
        _irq = irq;
        _clock = clock;
        _backend = backend;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _transmitTimer = clock.CreateTimer(options.Name + " transmitter", OnTransmitTimer);
        _receiveTimer = clock.CreateTimer(options.Name + " receiver", OnReceiveTimer);
        _timeoutTimer = clock.CreateTimer(options.Name + " character timeout", OnTimeoutTimer);
        _bindings = [new PortBinding(options.Name, options.BasePort, 8, this)];
        Reset();
    }

    /// <inheritdoc/>
    public string Name => _options.Name;

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings => _bindings;

    /// <inheritdoc/>
    public AccessWidths SupportedWidths => AccessWidths.Byte;

    /// <summary>The number of guest accesses that made no sense (transmit FIFO overflow, LSR/MSR writes), counted, never thrown.</summary>
    public long GuestMisuseCount { get; private set; }

    /// <summary>The programmed baud rate (115200 / divisor; a divisor of 0 counts as 1).</summary>
    public int BaudRate => (int)(InputClockHertz / 16 / EffectiveDivisor);

    /// <summary>The duration of one character (start, data, parity and stop bits) at the programmed rate and format.</summary>
    public long CharacterTimeNanoseconds
    {
        get
        {
            // Half-bit units so that 1.5 stop bits (5-bit characters with LCR bit 2 set) stay exact.
            int dataBits = 5 + (_lcr & 0x03);
            int halfBits = 2 * (1 + dataBits + ((_lcr & 0x08) != 0 ? 1 : 0));
            halfBits += (_lcr & 0x04) == 0 ? 2 : dataBits == 5 ? 3 : 4;
            return halfBits * EffectiveDivisor * 16L * 1_000_000_000L / (InputClockHertz * 2);
        }
    }

    /// <summary>Characters the transmitter holds that the backend has not taken yet (the shift register and the FIFO).</summary>
    public int PendingTransmitCharacters => _transmitCount + (_transmitShiftFull ? 1 : 0);

    private int EffectiveDivisor => _divisor == 0 ? 1 : _divisor;

    private bool FifoEnabled => (_fcr & FcrEnable) != 0;

    private int FifoCapacity => FifoEnabled ? FifoDepth : 1;

    private bool Loopback => (_mcr & McrLoop) != 0;

    private int ReceiveTriggerLevel => !FifoEnabled ? 1 : (_fcr >> 6) switch
    {
        0 => 1,
        1 => 4,
        2 => 8,
        _ => 14,
    };

    /// <inheritdoc/>
    public uint Read(ushort offset, int sizeInBytes)
    {
        byte value;
        switch (offset & 7)
        {
            case 0:
                value = (_lcr & LcrDlab) != 0 ? (byte)_divisor : ReadRbr();
                break;
            case 1:
                value = (_lcr & LcrDlab) != 0 ? (byte)(_divisor >> 8) : _ier;
                break;
            case 2:
                value = ReadIir();
                break;
            case 3:
                value = _lcr;
                break;
            case 4:
                value = _mcr;
                break;
            case 5:
                value = ReadLsr();
                break;
            case 6:
                value = (byte)(ModemLines() | _msrDeltas);
                _msrDeltas = 0; // PC16550D 8.7: bits 0-3 reset when the CPU reads the MSR
                break;
            default:
                value = _scratch;
                break;
        }

        UpdateInterrupt();
        return value;
    }

    /// <inheritdoc/>
    public void Write(ushort offset, int sizeInBytes, uint value)
    {
        byte data = (byte)value;
        switch (offset & 7)
        {
            case 0:
                if ((_lcr & LcrDlab) != 0)
                {
                    _divisor = (ushort)((_divisor & 0xFF00) | data);
                }
                else
                {
                    WriteThr(data);
                }

                break;
            case 1:
                if ((_lcr & LcrDlab) != 0)
                {
                    _divisor = (ushort)((_divisor & 0x00FF) | (data << 8));
                }
                else
                {
                    WriteIer(data);
                }

                break;
            case 2:
                WriteFcr(data);
                break;
            case 3:
                _lcr = data;
                break;
            case 4:
                WriteMcr(data);
                break;
            case 5:
            case 6:
                // LSR and MSR writes are for factory testing only (PC16550D 8.6, 8.7).
                CountMisuse("write to LSR or MSR");
                break;
            default:
                _scratch = data;
                break;
        }

        UpdateInterrupt();
    }

    /// <summary>Master reset (PC16550D Table III "UART Reset Configuration"); the scratch register and divisor are cleared too.</summary>
    public void Reset()
    {
        _transmitTimer.Cancel();
        _receiveTimer.Cancel();
        _timeoutTimer.Cancel();
        _receiveHead = _receiveCount = 0;
        _transmitHead = _transmitCount = 0;
        _transmitShift = 0;
        _transmitShiftFull = _transmitShiftBlocked = false;
        _ier = _lcr = _mcr = _fcr = _lsrErrors = _msrDeltas = _scratch = 0;
        _divisor = 0;
        _thrEmptyInterruptPending = _timeoutPending = false;
        _lastReceived = 0;
        UpdateInterrupt();
        EnsureReceivePolling();
    }

    /// <inheritdoc/>
    public Uart16550State SaveState()
    {
        byte[] receive = new byte[_receiveCount];
        for (int i = 0; i < _receiveCount; i++)
        {
            receive[i] = _receiveFifo[(_receiveHead + i) % FifoDepth];
        }

        byte[] transmit = new byte[_transmitCount];
        for (int i = 0; i < _transmitCount; i++)
        {
            transmit[i] = _transmitFifo[(_transmitHead + i) % FifoDepth];
        }

        return new Uart16550State(
            Uart16550State.CurrentVersion, _ier, _lcr, _mcr, _fcr, _lsrErrors, _msrDeltas, _scratch, _divisor,
            receive, transmit, _transmitShiftFull, _transmitShift, _transmitShiftBlocked, _thrEmptyInterruptPending,
            _timeoutPending, _lastReceived, _transmitTimer.DeadlineNanoseconds, _receiveTimer.DeadlineNanoseconds,
            _timeoutTimer.DeadlineNanoseconds);
    }

    /// <inheritdoc/>
    public void RestoreState(Uart16550State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != Uart16550State.CurrentVersion)
        {
            throw new ArgumentException($"{Name}: unsupported Uart16550State version {state.Version} (expected {Uart16550State.CurrentVersion}).", nameof(state));
        }

        if (state.ReceiveFifo is null || state.TransmitFifo is null || state.ReceiveFifo.Length > FifoDepth || state.TransmitFifo.Length > FifoDepth)
        {
            throw new ArgumentException($"{Name}: Uart16550State FIFO contents must hold at most {FifoDepth} bytes each.", nameof(state));
        }

        _ier = (byte)(state.Ier & 0x0F);
        _lcr = state.Lcr;
        _mcr = (byte)(state.Mcr & 0x1F);
        _fcr = (byte)(state.Fcr & 0xC9);
        _lsrErrors = (byte)(state.LsrErrors & LsrErrorBits);
        _msrDeltas = (byte)(state.MsrDeltas & 0x0F);
        _scratch = state.Scratch;
        _divisor = state.Divisor;
        _receiveHead = 0;
        _receiveCount = state.ReceiveFifo.Length;
        state.ReceiveFifo.CopyTo(_receiveFifo, 0);
        _transmitHead = 0;
        _transmitCount = state.TransmitFifo.Length;
        state.TransmitFifo.CopyTo(_transmitFifo, 0);
        _transmitShiftFull = state.TransmitShiftFull;
        _transmitShift = state.TransmitShift;
        _transmitShiftBlocked = state.TransmitShiftBlocked;
        _thrEmptyInterruptPending = state.ThrEmptyInterruptPending;
        _timeoutPending = state.TimeoutPending;
        _lastReceived = state.LastReceived;
        Reschedule(_transmitTimer, state.TransmitDeadline);
        Reschedule(_receiveTimer, state.ReceiveDeadline);
        Reschedule(_timeoutTimer, state.TimeoutDeadline);
        UpdateInterrupt();
    }

    private static void Reschedule(IDeviceTimer timer, long deadline)
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

    private byte ReadRbr()
    {
        if (_receiveCount > 0)
        {
            _lastReceived = _receiveFifo[_receiveHead];
            _receiveHead = (_receiveHead + 1) % FifoDepth;
            _receiveCount--;
        }

        // PC16550D 8.4 (FIFO interrupt mode): reading a character clears a timeout indication and restarts the timer.
        _timeoutPending = false;
        RestartTimeout();
        PullInstantInput();
        return _lastReceived;
    }

    private byte ReadIir()
    {
        PullInstantInput();
        byte id = CurrentInterruptId();
        if (id == IirThrEmpty)
        {
            // PC16550D Table IV: the THRE interrupt is reset by reading the IIR (when it is the source) or writing THR.
            _thrEmptyInterruptPending = false;
        }

        return (byte)(id | (FifoEnabled ? 0xC0 : 0x00));
    }

    private byte ReadLsr()
    {
        PullInstantInput();
        RetryBlockedTransmit();
        byte value = _lsrErrors;
        if (_receiveCount > 0)
        {
            value |= LsrDr;
        }

        if (_transmitCount == 0)
        {
            value |= LsrThre;
            if (!_transmitShiftFull)
            {
                value |= LsrTemt;
            }
        }

        _lsrErrors = 0; // OE, PE, FE and BI reset on read (PC16550D 8.6)
        return value;
    }

    private void WriteThr(byte data)
    {
        _thrEmptyInterruptPending = false;
        if (_transmitCount >= FifoCapacity)
        {
            CountMisuse("THR written while the transmit FIFO is full (character lost)");
        }
        else
        {
            _transmitFifo[(_transmitHead + _transmitCount) % FifoDepth] = data;
            _transmitCount++;
        }

        StartTransmitter();
    }

    private void WriteIer(byte data)
    {
        byte old = _ier;
        _ier = (byte)(data & 0x0F);
        if ((_ier & IerEtbei) != 0 && (old & IerEtbei) == 0 && _transmitCount == 0)
        {
            // Enabling ETBEI while THR is empty raises the THRE interrupt at once, as the 16550A does.
            _thrEmptyInterruptPending = true;
        }

        EnsureReceivePolling();
    }

    private void WriteFcr(byte data)
    {
        bool enable = (data & FcrEnable) != 0;
        if (enable != FifoEnabled)
        {
            // PC16550D 8.5: changing FCR0 clears both FIFOs.
            ClearReceiveFifo();
            ClearTransmitFifo();
        }

        if (!enable)
        {
            // The other bits are only programmed while FCR0 is written as 1.
            _fcr = (byte)(_fcr & ~FcrEnable);
            return;
        }

        if ((data & FcrClearReceive) != 0)
        {
            ClearReceiveFifo();
        }

        if ((data & FcrClearTransmit) != 0)
        {
            ClearTransmitFifo();
        }

        _fcr = (byte)(data & 0xC9);
        PullInstantInput();
    }

    private void WriteMcr(byte data)
    {
        byte oldLines = ModemLines();
        bool wasLoopback = Loopback;
        _mcr = (byte)(data & 0x1F);
        byte newLines = ModemLines();
        byte changed = (byte)(oldLines ^ newLines);
        if ((changed & MsrCts) != 0)
        {
            _msrDeltas |= 0x01;
        }

        if ((changed & MsrDsr) != 0)
        {
            _msrDeltas |= 0x02;
        }

        if ((oldLines & MsrRi) != 0 && (newLines & MsrRi) == 0)
        {
            _msrDeltas |= 0x04; // TERI: trailing edge of RI only
        }

        if ((changed & MsrDcd) != 0)
        {
            _msrDeltas |= 0x08;
        }

        if (wasLoopback && !Loopback)
        {
            StartTransmitter();
        }

        EnsureReceivePolling();
    }

    private byte ModemLines()
    {
        if (Loopback)
        {
            // PC16550D 8.8 (loopback): CTS = RTS, DSR = DTR, RI = OUT1, DCD = OUT2.
            byte lines = 0;
            if ((_mcr & McrRts) != 0)
            {
                lines |= MsrCts;
            }

            if ((_mcr & McrDtr) != 0)
            {
                lines |= MsrDsr;
            }

            if ((_mcr & McrOut1) != 0)
            {
                lines |= MsrRi;
            }

            if ((_mcr & McrOut2) != 0)
            {
                lines |= MsrDcd;
            }

            return lines;
        }

        // The host end looks like a connected modem: CTS, DSR and DCD asserted, no ring.
        return MsrCts | MsrDsr | MsrDcd;
    }

    private byte CurrentInterruptId()
    {
        if ((_ier & IerElsi) != 0 && _lsrErrors != 0)
        {
            return IirLineStatus;
        }

        if ((_ier & IerErbfi) != 0)
        {
            if (_receiveCount >= ReceiveTriggerLevel)
            {
                return IirReceivedData;
            }

            if (_timeoutPending && _receiveCount > 0)
            {
                return IirCharacterTimeout;
            }
        }

        if ((_ier & IerEtbei) != 0 && _thrEmptyInterruptPending)
        {
            return IirThrEmpty;
        }

        if ((_ier & IerEdssi) != 0 && _msrDeltas != 0)
        {
            return IirModemStatus;
        }

        return IirNone;
    }

    private void UpdateInterrupt()
    {
        // PC16550D 8.8 says loopback forces the OUT pins inactive, which on a PC board would also cut the IRQ driver
        // that OUT2 gates. QEMU and Bochs keep the line driven from OUT2 in loopback, and guests probe the IRQ of a
        // port that way (Linux's autoconfig_irq, DOS diagnostics): a looped-back byte with OUT2 set raises the IRQ.
        bool level = CurrentInterruptId() != IirNone &&
            (!_options.InterruptRequiresOut2 || (_mcr & McrOut2) != 0);
        if (level != _irq.IsAsserted)
        {
            _irq.SetLevel(level);
        }
    }

    private void StartTransmitter()
    {
        while (!_transmitShiftFull && _transmitCount > 0)
        {
            LoadTransmitShift();
            if (_options.TransmitPacing == UartPacing.BaudRate)
            {
                _transmitTimer.ScheduleAt(_clock.NowNanoseconds + CharacterTimeNanoseconds);
                return;
            }

            CompleteCharacter();
        }
    }

    /// <summary>Moves the oldest character of the transmit FIFO into the shift register (the FIFO is not empty, the register is).</summary>
    private void LoadTransmitShift()
    {
        _transmitShift = _transmitFifo[_transmitHead];
        _transmitHead = (_transmitHead + 1) % FifoDepth;
        _transmitCount--;
        _transmitShiftFull = true;
        if (_transmitCount == 0)
        {
            _thrEmptyInterruptPending = true; // the holding register (FIFO) just emptied
        }
    }

    private void CompleteCharacter()
    {
        // A character the backend refused has left the transmitter as far as the guest can tell (with instant pacing it
        // is already on the line): turning on loopback afterwards (Linux's 8250 probe does) must not take it back.
        if (Loopback && !_transmitShiftBlocked)
        {
            // PC16550D 8.8: in loopback the transmitter output is connected to the receiver input.
            ReceiveCharacter(_transmitShift);
        }
        else if (!_backend.TryTransmit(_transmitShift))
        {
            _transmitShiftBlocked = true;
            if (!_transmitTimer.IsScheduled)
            {
                _transmitTimer.ScheduleAt(_clock.NowNanoseconds + _options.PollIntervalNanoseconds);
            }

            return;
        }

        _transmitShiftFull = false;
        _transmitShiftBlocked = false;
    }

    /// <summary>
    /// Hands the backend every character the transmitter still holds, without waiting for the virtual clock: for a host
    /// that ends a run (a guest that powers off or writes isa-debug-exit right after its last line) and wants all the
    /// guest's output. A backend that refuses characters (a pipe past its pause threshold) is retried until
    /// <paramref name="timeout"/> has passed. Call it while the machine is not running, on the thread that ran it.
    /// </summary>
    /// <param name="timeout">How long to wait for a backend that keeps refusing.</param>
    /// <returns>Whether the transmitter is empty afterwards.</returns>
    public bool FlushTransmitter(TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)Math.Max(0, timeout.TotalMilliseconds);
        while (true)
        {
            if (_transmitShiftFull)
            {
                CompleteCharacter();
            }

            while (!_transmitShiftFull && _transmitCount > 0)
            {
                LoadTransmitShift();
                CompleteCharacter();
            }

            if (PendingTransmitCharacters == 0)
            {
                // THRE was raised when the FIFO emptied (LoadTransmitShift); nothing held means nothing to raise.
                _transmitTimer.Cancel();
                UpdateInterrupt();
                return true;
            }

            if (Environment.TickCount64 >= deadline)
            {
                return false;
            }

            Thread.Sleep(1);
        }
    }

    private void RetryBlockedTransmit()
    {
        if (_transmitShiftBlocked)
        {
            CompleteCharacter();
            StartTransmitter();
        }
    }

    private void OnTransmitTimer()
    {
        if (_transmitShiftFull)
        {
            CompleteCharacter();
        }

        StartTransmitter();
        UpdateInterrupt();
    }

    private void ReceiveCharacter(byte data)
    {
        if (_receiveCount >= FifoCapacity)
        {
            // PC16550D 8.6 (OE): in FIFO mode the character in the shift register is lost, the FIFO is kept.
            _lsrErrors |= LsrOe;
            return;
        }

        _receiveFifo[(_receiveHead + _receiveCount) % FifoDepth] = data;
        _receiveCount++;
        RestartTimeout();
    }

    private void PullInstantInput()
    {
        // A polling guest (received-data interrupt off) gets input as fast as it reads. An interrupt-driven
        // guest gets it from the receive timer only: its handler then empties the FIFO, the line falls, and
        // the next pull raises it again, so an edge-triggered PIC sees an edge for every burst.
        if (_options.ReceivePacing == UartPacing.Instant && (_ier & IerErbfi) == 0)
        {
            PullInput(FifoCapacity - _receiveCount);
        }
    }

    private int PullInput(int room)
    {
        if (room <= 0 || Loopback)
        {
            return 0;
        }

        Span<byte> buffer = stackalloc byte[FifoDepth];
        int count = _backend.TryReceive(buffer[..room]);
        for (int i = 0; i < count; i++)
        {
            ReceiveCharacter(buffer[i]);
        }

        return count;
    }

    private void EnsureReceivePolling()
    {
        bool wanted = !Loopback && (_options.ReceivePacing == UartPacing.BaudRate || (_ier & IerErbfi) != 0);
        if (wanted && !_receiveTimer.IsScheduled)
        {
            _receiveTimer.ScheduleAt(_clock.NowNanoseconds + ReceiveInterval());
        }
    }

    private long ReceiveInterval() => _options.ReceivePacing == UartPacing.BaudRate
        ? CharacterTimeNanoseconds
        : _options.PollIntervalNanoseconds;

    private void OnReceiveTimer()
    {
        if (_options.ReceivePacing == UartPacing.BaudRate)
        {
            PullInput(Math.Min(1, FifoCapacity - _receiveCount));
        }
        else if (PullInput(FifoCapacity - _receiveCount) > 0 && !Loopback && (_ier & IerErbfi) != 0)
        {
            // The host is sending: come back after one character time rather than the idle poll interval.
            _receiveTimer.ScheduleAt(_clock.NowNanoseconds + Math.Min(CharacterTimeNanoseconds, _options.PollIntervalNanoseconds));
        }

        UpdateInterrupt();
        EnsureReceivePolling();
    }

    private void RestartTimeout()
    {
        // PC16550D 8.4: the timeout fires after four character times without a character received or read.
        if (FifoEnabled && _receiveCount > 0)
        {
            _timeoutTimer.ScheduleAt(_clock.NowNanoseconds + 4 * CharacterTimeNanoseconds);
        }
        else
        {
            _timeoutTimer.Cancel();
        }
    }

    private void OnTimeoutTimer()
    {
        if (FifoEnabled && _receiveCount > 0)
        {
            _timeoutPending = true;
            UpdateInterrupt();
        }
    }

    private void ClearReceiveFifo()
    {
        _receiveHead = _receiveCount = 0;
        _timeoutPending = false;
        _timeoutTimer.Cancel();
    }

    private void ClearTransmitFifo()
    {
        if (_transmitCount > 0)
        {
            _thrEmptyInterruptPending = true;
        }

        _transmitHead = _transmitCount = 0;
    }

    private void CountMisuse(string what)
    {
        long count = ++GuestMisuseCount;
        if ((count <= 16 || (count & (count - 1)) == 0) && _logger.IsEnabled(LogLevel.Debug))
        {
            UartLog.GuestMisuse(_logger, Name, what, count);
        }
    }
}
