using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// QEMU's educational PCI device (<c>-device edu</c>, 1234:11E8), written from its specification (QEMU's
/// docs/specs/edu.rst): a card for learning to write drivers, with a 1 MiB memory BAR0 holding an identification
/// register, a liveness check, a factorial unit, an interrupt controller (raise, status, acknowledge) and a DMA engine
/// over a 4 KiB internal buffer at BAR offset 40000h; interrupts on INTA# or through MSI.
/// </summary>
/// <remarks>
/// <para>
/// Registers below 80h take 4-byte accesses only, those from 80h 4- or 8-byte ones (other widths read all ones and
/// are ignored when written, as are offsets that name no register). The factorial (of the value written to 08h,
/// modulo 2^32) is ready <see cref="FactorialDelayNanoseconds"/> of guest time after the write, with status bit 0 set
/// until then; a DMA transfer completes <see cref="DmaDelayNanoseconds"/> after command bit 0 is written, which reads
/// set until then. QEMU computes the factorial on a host thread and completes DMA after 100 ms of virtual time; fixed
/// guest-time delays keep runs deterministic and spare a polling guest most of that wait.
/// </para>
/// <para>
/// Guest mistakes never reach the host: a DMA transfer whose device-side range is not inside the buffer (QEMU stops
/// the whole emulator with <c>hw_error</c>) or that finds bus mastering off moves nothing, is counted in
/// <see cref="RefusedDmaCount"/> and completes as usual. Guest addresses are masked with the DMA mask (28 bits by
/// default, QEMU's <c>dma_mask</c> property).
/// </para>
/// </remarks>
public sealed class EduDevice : PciDevice, IStatefulDevice<EduDeviceState>
{
    /// <summary>The vendor ID (1234h, the one QEMU's own devices use).</summary>
    public const ushort EduVendorId = 0x1234;

    /// <summary>The device ID.</summary>
    public const ushort EduDeviceId = 0x11E8;

    /// <summary>The revision ID QEMU reports.</summary>
    public const byte Revision = 0x10;

    /// <summary>The class code: base class 00h, sub-class FFh ("unclassified, other"), as QEMU's <c>PCI_CLASS_OTHERS</c>.</summary>
    public const uint ClassCode = 0x00_FF_00;

    /// <summary>The size of BAR0.</summary>
    public const ulong Bar0SizeInBytes = 1 << 20;

    /// <summary>Where the MSI capability sits in configuration space (the first capability, as under QEMU).</summary>
    public const int MsiCapabilityOffset = 0x40;

    /// <summary>BAR0 offset 00h (read-only): the identification, <c>0xRRrr00ED</c> with major RR and minor rr.</summary>
    public const int IdentificationRegister = 0x00;

    /// <summary>BAR0 offset 04h: the liveness check; reads return the inverse of the last value written.</summary>
    public const int LivenessRegister = 0x04;

    /// <summary>BAR0 offset 08h: write n to start computing n!; reads give the result once status bit 0 is clear.</summary>
    public const int FactorialRegister = 0x08;

    /// <summary>BAR0 offset 20h: the status register (<see cref="StatusComputing"/>, <see cref="StatusInterruptOnFactorial"/>).</summary>
    public const int StatusRegister = 0x20;

    /// <summary>BAR0 offset 24h (read-only): the interrupt status, the OR of the values that raised interrupts.</summary>
    public const int InterruptStatusRegister = 0x24;

    /// <summary>BAR0 offset 60h (write-only): ORs the value into the interrupt status and raises the interrupt.</summary>
    public const int InterruptRaiseRegister = 0x60;

    /// <summary>BAR0 offset 64h (write-only): clears the value's bits from the interrupt status; INTA# drops when none remain.</summary>
    public const int InterruptAcknowledgeRegister = 0x64;

    /// <summary>BAR0 offset 80h: the DMA source address.</summary>
    public const int DmaSourceRegister = 0x80;

    /// <summary>BAR0 offset 88h: the DMA destination address.</summary>
    public const int DmaDestinationRegister = 0x88;

    /// <summary>BAR0 offset 90h: the DMA transfer count in bytes.</summary>
    public const int DmaCountRegister = 0x90;

    /// <summary>BAR0 offset 98h: the DMA command (<see cref="DmaStart"/>, <see cref="DmaToRam"/>, <see cref="DmaInterruptOnCompletion"/>).</summary>
    public const int DmaCommandRegister = 0x98;

    /// <summary>The value of the identification register: version 1.0.</summary>
    public const uint Identification = 0x0100_00ED;

    /// <summary>Status bit 0 (read-only): a factorial is being computed.</summary>
    public const uint StatusComputing = 0x01;

    /// <summary>Status bit 7: raise <see cref="FactorialInterrupt"/> when a factorial is ready.</summary>
    public const uint StatusInterruptOnFactorial = 0x80;

    /// <summary>DMA command bit 0: start the transfer; reads set until it completes.</summary>
    public const ulong DmaStart = 0x1;

    /// <summary>DMA command bit 1: direction, 0 from guest RAM to the buffer, 1 from the buffer to guest RAM.</summary>
    public const ulong DmaToRam = 0x2;

    /// <summary>DMA command bit 2: raise <see cref="DmaInterrupt"/> when the transfer completes.</summary>
    public const ulong DmaInterruptOnCompletion = 0x4;

    /// <summary>The interrupt status bit a completed factorial raises.</summary>
    public const uint FactorialInterrupt = 0x001;

    /// <summary>The interrupt status bit a completed DMA transfer raises.</summary>
    public const uint DmaInterrupt = 0x100;

    /// <summary>Where the DMA buffer sits in the device's DMA address space (the BAR0 offset the spec gives).</summary>
    public const ulong DmaBufferAddress = 0x40000;

    /// <summary>The size of the DMA buffer.</summary>
    public const int DmaBufferSizeInBytes = 4096;

    /// <summary>The default DMA mask: 28 bits (256 MiB), as QEMU's.</summary>
    public const ulong DefaultDmaMask = (1UL << 28) - 1;

    /// <summary>Guest time from a write to the factorial register to the result.</summary>
    public const long FactorialDelayNanoseconds = 10_000;

    /// <summary>Guest time from the start of a DMA transfer to its completion.</summary>
    public const long DmaDelayNanoseconds = 100_000;

    private const int RegisterSizeInBytes = 4;
    private const int WideRegisterStart = 0x80;
    private const uint InvalidRead32 = 0xFFFF_FFFF;
    private const ulong InvalidRead64 = ulong.MaxValue;

    private readonly IVirtualClock _clock;
    private readonly IDeviceTimer _factorialTimer;
    private readonly IDeviceTimer _dmaTimer;
    private readonly byte[] _buffer = new byte[DmaBufferSizeInBytes];
    private uint _liveness;
    private uint _factorial;
    private uint _status;
    private uint _interruptStatus;
    private ulong _dmaSource;
    private ulong _dmaDestination;
    private ulong _dmaCount;
    private ulong _dmaCommand;

    /// <summary>Creates the card.</summary>
    /// <param name="clock">The clock the factorial unit and the DMA engine time their work on.</param>
    /// <param name="dmaMask">The mask applied to guest addresses of DMA transfers (QEMU's <c>dma_mask</c>); default 28 bits.</param>
    /// <param name="name">The device name (unique in the machine).</param>
    public EduDevice(IVirtualClock clock, ulong dmaMask = DefaultDmaMask, string name = "edu")
        : base(name, new PciDeviceIdentity(EduVendorId, EduDeviceId, ClassCode, Revision)
        {
            SubsystemVendorId = StandardVgaPciDevice.SubsystemVendor,
            SubsystemId = StandardVgaPciDevice.Subsystem,
            InterruptPin = PciInterruptPin.IntA,
            Status = 0,
        })
    {
        ArgumentNullException.ThrowIfNull(clock);
        if (dmaMask == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(dmaMask), "The edu card's DMA mask must not be 0.");
        }

        _clock = clock;
        DmaMask = dmaMask;
        _factorialTimer = clock.CreateTimer($"{name} factorial", CompleteFactorial);
        _dmaTimer = clock.CreateTimer($"{name} DMA", CompleteDma);
        DefineMemoryBar(0, Bar0SizeInBytes, new Registers(this));
        AddMsiCapability(MsiCapabilityOffset, is64Bit: true, vectorCountLog2: 0);
    }

    /// <summary>The mask applied to guest DMA addresses.</summary>
    public ulong DmaMask { get; }

    /// <summary>How many DMA transfers moved nothing: the buffer range was outside the buffer, or bus mastering was off.</summary>
    public long RefusedDmaCount { get; private set; }

    /// <inheritdoc/>
    public EduDeviceState SaveState() => new(
        EduDeviceState.CurrentVersion,
        SaveConfiguration(),
        _liveness,
        _factorial,
        _status,
        _interruptStatus,
        _dmaSource,
        _dmaDestination,
        _dmaCount,
        _dmaCommand,
        _buffer.ToArray(),
        _factorialTimer.IsScheduled ? _factorialTimer.DeadlineNanoseconds : null,
        _dmaTimer.IsScheduled ? _dmaTimer.DeadlineNanoseconds : null);

    /// <inheritdoc/>
    public void RestoreState(EduDeviceState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != EduDeviceState.CurrentVersion)
        {
            throw new ArgumentException($"PCI device '{Name}': EduDeviceState.Version {state.Version} is not supported (expected {EduDeviceState.CurrentVersion}).", nameof(state));
        }

        if (state.Buffer is null || state.Buffer.Length != DmaBufferSizeInBytes)
        {
            throw new ArgumentException($"PCI device '{Name}': EduDeviceState.Buffer must hold {DmaBufferSizeInBytes} bytes.", nameof(state));
        }

        if (((state.Status & StatusComputing) != 0) != state.FactorialDeadlineNanoseconds.HasValue || ((state.DmaCommand & DmaStart) != 0) != state.DmaDeadlineNanoseconds.HasValue)
        {
            throw new ArgumentException($"PCI device '{Name}': EduDeviceState: a running factorial or DMA transfer needs its deadline, and only then.", nameof(state));
        }

        ValidateConfiguration(state.Configuration, Name);
        RestoreConfiguration(state.Configuration);
        _liveness = state.Liveness;
        _factorial = state.Factorial;
        _status = state.Status;
        _interruptStatus = state.InterruptStatus;
        _dmaSource = state.DmaSource;
        _dmaDestination = state.DmaDestination;
        _dmaCount = state.DmaCount;
        _dmaCommand = state.DmaCommand;
        state.Buffer.CopyTo(_buffer, 0);
        Reschedule(_factorialTimer, state.FactorialDeadlineNanoseconds);
        Reschedule(_dmaTimer, state.DmaDeadlineNanoseconds);
    }

    /// <inheritdoc/>
    protected override void OnReset()
    {
        _factorialTimer.Cancel();
        _dmaTimer.Cancel();
        Array.Clear(_buffer);
        _liveness = 0;
        _factorial = 0;
        _status = 0;
        _interruptStatus = 0;
        _dmaSource = 0;
        _dmaDestination = 0;
        _dmaCount = 0;
        _dmaCommand = 0;
    }

    private static void Reschedule(IDeviceTimer timer, long? deadline)
    {
        if (deadline is { } at)
        {
            timer.ScheduleAt(at);
        }
        else
        {
            timer.Cancel();
        }
    }

    private ulong Read(int offset, int sizeInBytes)
    {
        if (offset < WideRegisterStart)
        {
            if (sizeInBytes != RegisterSizeInBytes)
            {
                return InvalidRead64;
            }

            return offset switch
            {
                IdentificationRegister => Identification,
                LivenessRegister => _liveness,
                FactorialRegister => _factorial,
                StatusRegister => _status,
                InterruptStatusRegister => _interruptStatus,
                _ => InvalidRead32,
            };
        }

        ulong value = offset switch
        {
            DmaSourceRegister => _dmaSource,
            DmaDestinationRegister => _dmaDestination,
            DmaCountRegister => _dmaCount,
            DmaCommandRegister => _dmaCommand,
            _ => InvalidRead64,
        };
        return sizeInBytes == RegisterSizeInBytes ? value & InvalidRead32 : value;
    }

    private void Write(int offset, int sizeInBytes, ulong value)
    {
        if (offset < WideRegisterStart)
        {
            if (sizeInBytes != RegisterSizeInBytes)
            {
                return;
            }

            uint v = (uint)value;
            switch (offset)
            {
                case LivenessRegister:
                    _liveness = ~v;
                    break;
                case FactorialRegister when (_status & StatusComputing) == 0:
                    _factorial = v;
                    _status |= StatusComputing;
                    _factorialTimer.ScheduleAt(_clock.NowNanoseconds + FactorialDelayNanoseconds);
                    break;
                case StatusRegister:
                    // Only the interrupt-enable bit is the guest's; the computing bit is the unit's.
                    _status = (_status & ~StatusInterruptOnFactorial) | (v & StatusInterruptOnFactorial);
                    break;
                case InterruptRaiseRegister:
                    RaiseInterrupt(v);
                    break;
                case InterruptAcknowledgeRegister:
                    _interruptStatus &= ~v;
                    SetInterruptLevel(_interruptStatus != 0);
                    break;
            }

            return;
        }

        // The DMA registers are frozen while a transfer runs (QEMU ignores such writes too).
        if ((_dmaCommand & DmaStart) != 0)
        {
            return;
        }

        switch (offset)
        {
            case DmaSourceRegister:
                _dmaSource = value;
                break;
            case DmaDestinationRegister:
                _dmaDestination = value;
                break;
            case DmaCountRegister:
                _dmaCount = value;
                break;
            case DmaCommandRegister:
                _dmaCommand = value;
                if ((value & DmaStart) != 0)
                {
                    _dmaTimer.ScheduleAt(_clock.NowNanoseconds + DmaDelayNanoseconds);
                }

                break;
        }
    }

    /// <summary>
    /// ORs <paramref name="bits"/> into the interrupt status. INTA# follows the status (level-triggered, until
    /// acknowledged); with MSI enabled every raise sends one message instead (the base class keeps INTA# quiet then).
    /// </summary>
    private void RaiseInterrupt(uint bits)
    {
        _interruptStatus |= bits;
        if (_interruptStatus == 0)
        {
            return;
        }

        SetInterruptLevel(true);
        if (IsMsiEnabled)
        {
            SignalMsi();
        }
    }

    private void CompleteFactorial()
    {
        uint result = 1;
        for (uint i = _factorial; i > 1; i--)
        {
            result *= i; // modulo 2^32, as the card's 32-bit register keeps it
        }

        _factorial = result;
        _status &= ~StatusComputing;
        if ((_status & StatusInterruptOnFactorial) != 0)
        {
            RaiseInterrupt(FactorialInterrupt);
        }
    }

    private void CompleteDma()
    {
        bool toRam = (_dmaCommand & DmaToRam) != 0;
        ulong bufferAddress = toRam ? _dmaSource : _dmaDestination;
        ulong guestAddress = (toRam ? _dmaDestination : _dmaSource) & DmaMask;
        bool inBuffer = bufferAddress >= DmaBufferAddress && _dmaCount <= DmaBufferSizeInBytes &&
            bufferAddress - DmaBufferAddress <= (ulong)DmaBufferSizeInBytes - _dmaCount;
        bool moved = false;
        if (inBuffer)
        {
            Span<byte> window = _buffer.AsSpan((int)(bufferAddress - DmaBufferAddress), (int)_dmaCount);
            moved = toRam ? DmaWrite(new PhysicalAddress(guestAddress), window) : DmaRead(new PhysicalAddress(guestAddress), window);
        }

        if (!moved && _dmaCount != 0)
        {
            RefusedDmaCount++;
        }

        _dmaCommand &= ~DmaStart;
        if ((_dmaCommand & DmaInterruptOnCompletion) != 0)
        {
            RaiseInterrupt(DmaInterrupt);
        }
    }

    /// <summary>BAR0: the registers; 4-byte accesses below 80h, 4- or 8-byte ones from 80h.</summary>
    private sealed class Registers(EduDevice card) : IMmioDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.DoubleWord | AccessWidths.QuadWord;

        public ulong Read(RegionOffset offset, int sizeInBytes) => card.Read((int)offset.Value, sizeInBytes);

        public void Write(RegionOffset offset, int sizeInBytes, ulong value) => card.Write((int)offset.Value, sizeInBytes, value);
    }
}
