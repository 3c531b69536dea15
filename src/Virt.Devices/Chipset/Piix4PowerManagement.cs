using System.Buffers.Binary;
using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// The power-management function of an Intel 82371AB PIIX4 (device 8086:7113, bus 0 device 1 function 3 on QEMU's
/// <c>pc</c> machine): the ACPI PM1 event and control registers and the PM timer in a 64-port block placed by PMBA
/// (40h) and enabled by PMREGMISC bit 0 (80h), the SCI on ISA IRQ 9, the GPE0 block at AFE0h (4 ports, where QEMU puts
/// it), and the APM control and status ports B2h/B3h through which ACPI is switched on. Register names follow the
/// PIIX4 datasheet (Intel 290562, "82371AB PCI-to-ISA/IDE Xcelerator (PIIX4)", sections 3.4 and 11).
/// </summary>
/// <remarks>
/// <para>
/// The PM timer (PMTMR, block offset 08h) is a 24-bit counter at 3.579545 MHz on the machine's virtual clock;
/// TMROF_STS is set each time its bit 23 changes (every 2^23 counts, about 2.34 s), and with TMROF_EN raises the SCI.
/// PMSTS bits are cleared by writing 1.
/// </para>
/// <para>
/// Writing PMCNTRL with SUS_EN (bit 13) set puts the system in the sleep state SUS_TYP (bits 12:10) selects. As in
/// QEMU, whose DSDT gives <c>_S5</c> the value 0 on this chipset, type 0 is soft-off, and so is type 2 (QEMU's
/// default <c>_S4</c>): the machine powers off (<see cref="IPlatformControl.RequestPowerOff"/>). Type 1 (S3,
/// suspend to RAM) is not supported and is ignored (counted in <see cref="IgnoredSleepRequestCount"/>).
/// </para>
/// <para>
/// Writing ACPI_ENABLE (F1h) to APMC (B2h) sets SCI_EN, ACPI_DISABLE (F0h) clears it, which is what QEMU's chipset does
/// in place of the SMI handler real firmware would run (SMM is not emulated). The SCI is raised from the enabled status
/// bits whether or not SCI_EN is set, as in QEMU. The SMBus base (90h) and host configuration (D2h) are plain
/// registers: there is no SMBus controller behind them.
/// </para>
/// </remarks>
public sealed class Piix4PowerManagement : PciDevice, IPortMappedDevice, IStatefulDevice<Piix4PowerManagementState>
{
    /// <summary>The PIIX4 power-management function's device ID.</summary>
    public const ushort PowerManagementDeviceId = 0x7113;

    /// <summary>PMBA: the base of the PM I/O block (bits 15:6; bit 0 reads 1, I/O space).</summary>
    public const int PmBaseAddress = 0x40;

    /// <summary>PMREGMISC: bit 0 (PMIOSE) enables the PM I/O block.</summary>
    public const int PmRegisterMisc = 0x80;

    /// <summary>Device activity B register (DEVACTB, 58h-5Bh; PIIX4 datasheet 3.3.14).</summary>
    public const int DeviceActivityB = 0x58;

    /// <summary>
    /// DEVACTB bit 25, APMC_EN: a write to the APM control port (B2h) raises an SMI. Virt's CPU has no System Management
    /// Mode, so the function comes out of reset with this bit already set, as QEMU's does when SMM is off: firmware
    /// (SeaBIOS) reads it as "SMM already set up" and skips relocating SMBASE, which would wait forever on port B3h for
    /// an SMI handler that never runs.
    /// </summary>
    public const uint ApmcSmiEnable = 1u << 25;

    /// <summary>SMBBA: the SMBus base address (plain register).</summary>
    public const int SmbusBaseAddress = 0x90;

    /// <summary>SMBHSTCFG: SMBus host configuration (plain register).</summary>
    public const int SmbusHostConfiguration = 0xD2;

    /// <summary>The size of the PM I/O block in ports.</summary>
    public const int PmBlockSizeInPorts = 64;

    /// <summary>The first port of the GPE0 block (status word, then enable word), as in QEMU's <c>pc</c> machine.</summary>
    public const ushort Gpe0BlockPort = 0xAFE0;

    /// <summary>The size of the GPE0 block in ports.</summary>
    public const int Gpe0BlockSizeInPorts = 4;

    /// <summary>APMC, the APM control port (the FADT's SMI_CMD).</summary>
    public const ushort ApmControlPort = 0xB2;

    /// <summary>The value written to <see cref="ApmControlPort"/> to switch to ACPI mode (the FADT's ACPI_ENABLE).</summary>
    public const byte AcpiEnableCommand = 0xF1;

    /// <summary>The value written to <see cref="ApmControlPort"/> to leave ACPI mode (the FADT's ACPI_DISABLE).</summary>
    public const byte AcpiDisableCommand = 0xF0;

    /// <summary>The PM timer frequency in hertz (ACPI: 3.579545 MHz).</summary>
    public const long PmTimerFrequencyHertz = 3_579_545;

    /// <summary>The ISA IRQ of the SCI.</summary>
    public const int SciIrq = 9;

    /// <summary>PM block offset 00h: PMSTS (PM1a_STS).</summary>
    public const int PmStatusOffset = 0x00;

    /// <summary>PM block offset 02h: PMEN (PM1a_EN).</summary>
    public const int PmEnableOffset = 0x02;

    /// <summary>PM block offset 04h: PMCNTRL (PM1a_CNT).</summary>
    public const int PmControlOffset = 0x04;

    /// <summary>PM block offset 08h: PMTMR (PM_TMR).</summary>
    public const int PmTimerOffset = 0x08;

    /// <summary>PMSTS/PMEN bit 0: PM timer overflow.</summary>
    public const ushort TimerOverflow = 1 << 0;

    /// <summary>PMSTS/PMEN bit 5: global (BIOS release) event.</summary>
    public const ushort GlobalEvent = 1 << 5;

    /// <summary>PMSTS/PMEN bit 8: power button.</summary>
    public const ushort PowerButton = 1 << 8;

    /// <summary>PMSTS/PMEN bit 10: RTC alarm.</summary>
    public const ushort RtcAlarm = 1 << 10;

    /// <summary>PMSTS bit 15: wake status.</summary>
    public const ushort WakeStatus = 1 << 15;

    /// <summary>PMCNTRL bit 0: SCI_EN.</summary>
    public const ushort SciEnable = 1 << 0;

    /// <summary>PMCNTRL bits 12:10: SUS_TYP (SLP_TYP).</summary>
    public const ushort SleepTypeMask = 0x7 << SleepTypeShift;

    /// <summary>PMCNTRL bit 13: SUS_EN (SLP_EN), write-only.</summary>
    public const ushort SleepEnable = 1 << 13;

    /// <summary>The SLP_TYP value QEMU's DSDT gives <c>_S5</c> (soft-off) on the PIIX4.</summary>
    public const int SleepTypeSoftOff = 0;

    /// <summary>The SLP_TYP value QEMU gives <c>_S4</c> by default (its <c>s4_val</c>), also a power-off here.</summary>
    public const int SleepTypeS4 = 2;

    private const int SleepTypeShift = 10;
    private const ushort PmStatusClearable = TimerOverflow | (1 << 4) | GlobalEvent | PowerButton | RtcAlarm | (1 << 11) | WakeStatus;
    private const ushort PmEnableWritable = TimerOverflow | GlobalEvent | PowerButton | RtcAlarm;
    private const ushort PmControlWritable = SciEnable | (1 << 1) | SleepTypeMask;
    private const ushort SciEvents = TimerOverflow | GlobalEvent | PowerButton | RtcAlarm;
    private const int TimerOverflowShift = 23;
    private const uint PmTimerMask = 0x00FF_FFFF;
    private const long NanosecondsPerSecond = 1_000_000_000;
    private const uint PmBaseWritable = 0xFFC0;
    private const uint PmBaseIoIndicator = 0x1;
    private const byte PmIoSpaceEnable = 0x1;
    private const uint SmbusBaseWritable = 0xFFF0;
    private const byte RevisionId = 0x03;
    private const uint BridgeOtherClass = 0x06_8000;
    private const int DeviceResourceFirst = 0x44;
    private const int DeviceResourceLast = 0x7F;

    private readonly IInterruptLine _sci;
    private readonly IVirtualClock _clock;
    private readonly IPlatformControl _platform;
    private readonly IDeviceTimer _overflowTimer;
    private readonly byte[] _other = new byte[PmBlockSizeInPorts];
    private readonly BlockPorts _blockPorts;
    private ushort _pmStatus;
    private ushort _pmEnable;
    private ushort _pmControl;
    private ushort _gpeStatus;
    private ushort _gpeEnable;
    private long _overflowEpoch;
    private byte _apmControl;
    private byte _apmStatus;

    /// <summary>Creates the function in its reset state (PM block unmapped, nothing enabled).</summary>
    /// <param name="sci">The SCI line (the board connects it to ISA IRQ 9, level-triggered through the ELCR).</param>
    /// <param name="clock">The virtual clock the PM timer counts on.</param>
    /// <param name="platform">Receives the power-off request.</param>
    public Piix4PowerManagement(IInterruptLine sci, IVirtualClock clock, IPlatformControl platform)
        : base("PIIX4 power management", new PciDeviceIdentity(I440fxHostBridge.IntelVendorId, PowerManagementDeviceId, BridgeOtherClass, RevisionId) { InterruptPin = PciInterruptPin.IntA, SubsystemVendorId = I440fxHostBridge.QemuSubsystemVendorId, SubsystemId = I440fxHostBridge.QemuSubsystemId })
    {
        _sci = sci ?? throw new ArgumentNullException(nameof(sci));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _platform = platform ?? throw new ArgumentNullException(nameof(platform));
        _overflowTimer = clock.CreateTimer("PIIX4 PM timer overflow", OnOverflowTimer);
        _blockPorts = new BlockPorts(this);
        BinaryPrimitives.WriteUInt32LittleEndian(Configuration[PmBaseAddress..], PmBaseIoIndicator);
        SetWritableMask(PmBaseAddress, 4, PmBaseWritable);
        SetWritableMask(PmRegisterMisc, 1, PmIoSpaceEnable);
        BinaryPrimitives.WriteUInt32LittleEndian(Configuration[DeviceActivityB..], ApmcSmiEnable);
        BinaryPrimitives.WriteUInt32LittleEndian(Configuration[SmbusBaseAddress..], PmBaseIoIndicator);
        SetWritableMask(SmbusBaseAddress, 4, SmbusBaseWritable);
        SetWritableMask(SmbusHostConfiguration, 1, 0xFF);
        for (int register = DeviceResourceFirst; register <= DeviceResourceLast; register++)
        {
            SetWritableMask(register, 1, 0xFF);
        }

        PortBindings =
        [
            new PortBinding("PIIX4 GPE0", Gpe0BlockPort, Gpe0BlockSizeInPorts, new GpePorts(this)),
            new PortBinding("PIIX4 APM", ApmControlPort, 2, new ApmPorts(this)),
        ];
    }

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings { get; }

    /// <summary>Where the PM I/O block is decoded now, or null.</summary>
    public ushort? PmBlockPort { get; private set; }

    /// <summary>How many sleep requests of an unsupported type (S3) were ignored.</summary>
    public long IgnoredSleepRequestCount { get; private set; }

    /// <summary>The PM timer's 24-bit count now.</summary>
    public uint PmTimerValue => (uint)(TimerTicks() & PmTimerMask);

    /// <summary>Whether the SCI is asserted now.</summary>
    public bool IsSciAsserted => _sci.IsAsserted;

    /// <summary>Sets general-purpose event status bits in GPE0_STS (for devices that signal through GPE0); raises the SCI if enabled.</summary>
    /// <param name="bits">The status bits to set.</param>
    public void RaiseGeneralPurposeEvent(ushort bits)
    {
        _gpeStatus |= bits;
        UpdateSci();
    }

    /// <summary>Sets PWRBTN_STS, as pressing the power button does; raises the SCI when PWRBTN_EN is set.</summary>
    public void PressPowerButton()
    {
        _pmStatus |= PowerButton;
        UpdateSci();
    }

    /// <inheritdoc/>
    public Piix4PowerManagementState SaveState()
    {
        SyncTimerOverflow();
        return new(Piix4PowerManagementState.CurrentVersion, SaveConfiguration(), _pmStatus, _pmEnable, _pmControl, _gpeStatus, _gpeEnable, _other.ToArray(), _overflowEpoch, _apmControl, _apmStatus);
    }

    /// <inheritdoc/>
    public void RestoreState(Piix4PowerManagementState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != Piix4PowerManagementState.CurrentVersion)
        {
            throw new ArgumentException($"Piix4PowerManagementState.Version {state.Version} is not supported (expected {Piix4PowerManagementState.CurrentVersion}).", nameof(state));
        }

        ValidateConfiguration(state.Configuration, Name);
        if (state.OtherRegisters is null || state.OtherRegisters.Length != PmBlockSizeInPorts)
        {
            throw new ArgumentException($"Piix4PowerManagementState.OtherRegisters must hold {PmBlockSizeInPorts} bytes.", nameof(state));
        }

        if (state.TimerOverflowEpoch < 0)
        {
            throw new ArgumentException($"Piix4PowerManagementState.TimerOverflowEpoch {state.TimerOverflowEpoch} is negative.", nameof(state));
        }

        RestoreConfiguration(state.Configuration);
        _pmStatus = (ushort)(state.PmStatus & PmStatusClearable);
        _pmEnable = (ushort)(state.PmEnable & PmEnableWritable);
        _pmControl = (ushort)(state.PmControl & PmControlWritable);
        _gpeStatus = state.GpeStatus;
        _gpeEnable = state.GpeEnable;
        state.OtherRegisters.AsSpan().CopyTo(_other);
        _overflowEpoch = state.TimerOverflowEpoch;
        _apmControl = state.ApmControl;
        _apmStatus = state.ApmStatus;
        UpdatePmBlock();
        ScheduleOverflowTimer();
        UpdateSci();
    }

    /// <inheritdoc/>
    protected override void OnConfigurationWritten(int register, int sizeInBytes)
    {
        int last = register + sizeInBytes - 1;
        if ((register < PmBaseAddress + 4 && last >= PmBaseAddress) || (register <= PmRegisterMisc && last >= PmRegisterMisc))
        {
            UpdatePmBlock();
        }
    }

    /// <inheritdoc/>
    protected override void OnReset()
    {
        _pmStatus = 0;
        _pmEnable = 0;
        _pmControl = 0;
        _gpeStatus = 0;
        _gpeEnable = 0;
        Array.Clear(_other);
        _apmControl = 0;
        _apmStatus = 0;
        _overflowEpoch = TimerTicks() >> TimerOverflowShift;
        _overflowTimer.Cancel();
        UpdatePmBlock();
        UpdateSci();
    }

    /// <summary>PM timer counts since power-on: floor(now × 3.579545 MHz).</summary>
    private long TimerTicks() => (long)((Int128)_clock.NowNanoseconds * PmTimerFrequencyHertz / NanosecondsPerSecond);

    /// <summary>Sets TMROF_STS when bit 23 of the count changed since the last look (ACPI 4.8.3.3: the timer carry).</summary>
    private void SyncTimerOverflow()
    {
        long epoch = TimerTicks() >> TimerOverflowShift;
        if (epoch != _overflowEpoch)
        {
            _overflowEpoch = epoch;
            _pmStatus |= TimerOverflow;
        }
    }

    private void ScheduleOverflowTimer()
    {
        if ((_pmEnable & TimerOverflow) == 0)
        {
            _overflowTimer.Cancel();
            return;
        }

        // The first guest nanosecond at which the count reaches the next multiple of 2^23.
        Int128 nextTick = (Int128)((TimerTicks() >> TimerOverflowShift) + 1) << TimerOverflowShift;
        Int128 deadline = ((nextTick * NanosecondsPerSecond) + PmTimerFrequencyHertz - 1) / PmTimerFrequencyHertz;
        _overflowTimer.ScheduleAt(deadline > VirtualClock.MaxNanoseconds ? VirtualClock.MaxNanoseconds : (long)deadline);
    }

    private void OnOverflowTimer()
    {
        SyncTimerOverflow();
        UpdateSci();
        ScheduleOverflowTimer();
    }

    private void UpdateSci() => _sci.SetLevel((_pmStatus & _pmEnable & SciEvents) != 0 || (_gpeStatus & _gpeEnable) != 0);

    private void UpdatePmBlock()
    {
        uint pmba = ReadDoubleWord(PmBaseAddress) & PmBaseWritable;
        ushort? port = (Configuration[PmRegisterMisc] & PmIoSpaceEnable) != 0 ? (ushort)pmba : null;
        if (port == PmBlockPort)
        {
            return;
        }

        PmBlockPort = MapPortWindow("PIIX4 PM block", port, PmBlockSizeInPorts, _blockPorts) ? port : null;
    }

    private byte ReadBlock(int offset)
    {
        switch (offset)
        {
            case PmStatusOffset:
            case PmStatusOffset + 1:
                SyncTimerOverflow();
                return (byte)(_pmStatus >> (8 * (offset - PmStatusOffset)));
            case PmEnableOffset:
            case PmEnableOffset + 1:
                return (byte)(_pmEnable >> (8 * (offset - PmEnableOffset)));
            case PmControlOffset:
            case PmControlOffset + 1:
                return (byte)(_pmControl >> (8 * (offset - PmControlOffset)));
            case >= PmTimerOffset and < PmTimerOffset + 4:
                return (byte)(PmTimerValue >> (8 * (offset - PmTimerOffset)));
            default:
                return _other[offset];
        }
    }

    private void WriteBlock(int offset, byte value)
    {
        switch (offset)
        {
            case PmStatusOffset:
            case PmStatusOffset + 1:
                SyncTimerOverflow();
                _pmStatus &= (ushort)~((value << (8 * (offset - PmStatusOffset))) & PmStatusClearable);
                UpdateSci();
                break;
            case PmEnableOffset:
            case PmEnableOffset + 1:
            {
                int shift = 8 * (offset - PmEnableOffset);
                _pmEnable = (ushort)(((_pmEnable & ~(0xFF << shift)) | (value << shift)) & PmEnableWritable);
                SyncTimerOverflow();
                ScheduleOverflowTimer();
                UpdateSci();
                break;
            }

            case PmControlOffset:
            case PmControlOffset + 1:
            {
                int shift = 8 * (offset - PmControlOffset);
                int written = value << shift;
                _pmControl = (ushort)(((_pmControl & ~(0xFF << shift)) | written) & PmControlWritable);
                if ((written & SleepEnable) != 0)
                {
                    EnterSleepState((_pmControl & SleepTypeMask) >> SleepTypeShift);
                }

                break;
            }

            case >= PmTimerOffset and < PmTimerOffset + 4:
                break; // PMTMR is read-only
            default:
                _other[offset] = value;
                break;
        }
    }

    private void EnterSleepState(int sleepType)
    {
        if (sleepType is SleepTypeSoftOff or SleepTypeS4)
        {
            _platform.RequestPowerOff($"ACPI PM1a_CNT: SLP_EN with SLP_TYP {sleepType} (soft-off)");
        }
        else
        {
            IgnoredSleepRequestCount++;
        }
    }

    private byte ReadGpe(int offset) => (byte)((offset < 2 ? _gpeStatus : _gpeEnable) >> (8 * (offset & 1)));

    private void WriteGpe(int offset, byte value)
    {
        int shift = 8 * (offset & 1);
        if (offset < 2)
        {
            _gpeStatus &= (ushort)~(value << shift);
        }
        else
        {
            _gpeEnable = (ushort)((_gpeEnable & ~(0xFF << shift)) | (value << shift));
        }

        UpdateSci();
    }

    private void WriteApm(int offset, byte value)
    {
        if (offset == 1)
        {
            _apmStatus = value;
            return;
        }

        _apmControl = value;
        if (value == AcpiEnableCommand)
        {
            _pmControl |= SciEnable;
        }
        else if (value == AcpiDisableCommand)
        {
            _pmControl &= unchecked((ushort)~SciEnable);
        }
    }

    /// <summary>Byte-wise register access for the blocks below; wider accesses take their bytes in order, low first.</summary>
    private abstract class BytePorts : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.UpToDoubleWord;

        public uint Read(ushort offset, int sizeInBytes)
        {
            uint value = 0;
            for (int i = sizeInBytes - 1; i >= 0; i--)
            {
                value = (value << 8) | ReadByte(offset + i);
            }

            return value;
        }

        public void Write(ushort offset, int sizeInBytes, uint value)
        {
            for (int i = 0; i < sizeInBytes; i++)
            {
                WriteByte(offset + i, (byte)(value >> (8 * i)));
            }
        }

        protected abstract byte ReadByte(int offset);

        protected abstract void WriteByte(int offset, byte value);
    }

    private sealed class BlockPorts(Piix4PowerManagement owner) : BytePorts
    {
        protected override byte ReadByte(int offset) => owner.ReadBlock(offset);

        protected override void WriteByte(int offset, byte value) => owner.WriteBlock(offset, value);
    }

    private sealed class GpePorts(Piix4PowerManagement owner) : BytePorts
    {
        protected override byte ReadByte(int offset) => owner.ReadGpe(offset);

        protected override void WriteByte(int offset, byte value) => owner.WriteGpe(offset, value);
    }

    private sealed class ApmPorts(Piix4PowerManagement owner) : BytePorts
    {
        protected override byte ReadByte(int offset) => offset == 0 ? owner._apmControl : owner._apmStatus;

        protected override void WriteByte(int offset, byte value) => owner.WriteApm(offset, value);
    }
}
