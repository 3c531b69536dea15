using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// The Motorola MC146818A real-time clock with its 128 bytes of CMOS RAM, at ports 70h (index, bit 7 = NMI mask) and
/// 71h (data). Time advances with the virtual clock from <see cref="Rtc146818Options.StartTime"/>; registers use BCD or
/// binary and 12- or 24-hour format as register B says; periodic (every rate of register A), alarm and update-ended
/// interrupts go to IRQ 8; UIP is high for the 244 µs before each update. Updates are applied lazily when the guest
/// reads, so the only clock events are the interrupts an enable bit asks for. Register names follow the datasheet.
/// Not modelled: the daylight-saving bit (DSE, stored but ignored), the square-wave pin (SQWE), and time bases other than
/// 32.768 kHz (counted as misuse; the clock stops as in divider reset).
/// </summary>
/// <seealso href="https://wiki.osdev.org/RTC"/>
public sealed partial class Rtc146818 : IPortMappedDevice, IStatefulDevice<Rtc146818State>
{
    /// <summary>The divider chain's input: the 32.768 kHz crystal.</summary>
    public const long CyclesPerSecond = 32768;

    private const long NanosecondsPerSecond = 1_000_000_000;
    private const long UpdateOffsetCycles = CyclesPerSecond / 2; // datasheet: first update 500 ms after divider reset ends
    private const long UipCycles = 8; // 244.14 µs: UIP rises this long before the update (datasheet tBUC)
    private const int MaxLoggedMisuses = 32;
    private const int RamSize = 128;

    // Register B bits.
    private const byte BSet = 0x80;
    private const byte BPie = 0x40;
    private const byte BAie = 0x20;
    private const byte BUie = 0x10;
    private const byte BBinary = 0x04;
    private const byte B24Hour = 0x02;

    // Register C bits.
    private const byte CIrqf = 0x80;
    private const byte CPf = 0x40;
    private const byte CAf = 0x20;
    private const byte CUf = 0x10;

    private readonly IVirtualClock _clock;
    private readonly IInterruptLine? _irq8;
    private readonly ILogger _logger;
    private readonly IDeviceTimer _periodicTimer;
    private readonly IDeviceTimer _updateTimer;
    private readonly byte[] _ram = new byte[RamSize];
    private int _index;
    private bool _dividerRunning;
    private long _originNanoseconds;
    private long _syncedCycle;

    /// <summary>Creates the clock showing the start time, in BCD 24-hour format, with register A = 26h and the NMI enabled.</summary>
    /// <param name="clock">The machine's virtual clock.</param>
    /// <param name="irq8">The line for the interrupt output (IRQ 8), or null.</param>
    /// <param name="options">Start time and port; null for defaults.</param>
    /// <param name="logger">A logger for guest misuse (debug level, the first few); null for none.</param>
    public Rtc146818(IVirtualClock clock, IInterruptLine? irq8, Rtc146818Options? options = null, ILogger<Rtc146818>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(clock);
        options ??= new Rtc146818Options();
        _clock = clock;
        _irq8 = irq8;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _periodicTimer = clock.CreateTimer("RTC periodic", OnTimer);
        _updateTimer = clock.CreateTimer("RTC update", OnTimer);
        PortBindings = [new PortBinding("RTC", options.BasePort, 2, new Ports(this))];

        _ram[CmosLayout.RegisterA] = 0x26;
        _ram[CmosLayout.RegisterB] = B24Hour;
        _ram[CmosLayout.RegisterD] = 0x80;
        _ram[CmosLayout.Equipment] = 0x02; // math coprocessor present, EGA/VGA, no floppy
        SetTime(options.StartTime.DateTime);

        // Place the divider phase so that updates fall on whole seconds from now: the clock shows start + elapsed.
        _dividerRunning = true;
        _originNanoseconds = clock.NowNanoseconds - (NanosecondsPerSecond / 2);
        _syncedCycle = UpdateOffsetCycles;
        UpdateChecksum();
    }

    /// <inheritdoc/>
    public string Name => "RTC";

    /// <inheritdoc/>
    public IReadOnlyList<PortBinding> PortBindings { get; }

    /// <summary>Port 70h bit 7: whether the guest masked the NMI. The machine consults it before delivering an NMI.</summary>
    public bool NmiMasked { get; private set; }

    /// <summary>How many times the guest misused the clock: writes to registers C and D, unsupported divider settings.</summary>
    public long GuestMisuseCount { get; private set; }

    /// <summary>The current time as the registers show it, decoded (null when the registers hold an invalid date).</summary>
    public DateTime? CurrentTime
    {
        get
        {
            Sync();
            return TryGetTime(out DateTime time) ? time : null;
        }
    }

    /// <summary>Reads a CMOS byte as the host (no side effects; 00h-0Dh give the raw clock registers).</summary>
    /// <param name="offset">0 to 127.</param>
    /// <returns>The byte.</returns>
    public byte ReadCmos(int offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(offset, RamSize);
        Sync();
        return _ram[offset];
    }

    /// <summary>
    /// Moves the calendar forward by whole seconds as the host, keeping the guest's BCD/binary and 12/24-hour formats,
    /// for example so that machines restored from one snapshot do not read the same time (Machine.PerturbEntropy). The
    /// divider phase is unchanged, so the next update cycle comes when it would have; no flag or interrupt is raised.
    /// </summary>
    /// <param name="seconds">0 or more; the date stops at 31 December 9999.</param>
    /// <returns>False when the registers hold no valid date (the guest wrote one), which is then left as it is.</returns>
    public bool AdvanceCalendar(long seconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(seconds);
        Sync();
        if (!TryGetTime(out DateTime time))
        {
            return false;
        }

        long maxSeconds = (long)(DateTime.MaxValue - time).TotalSeconds;
        SetTime(time.AddSeconds(Math.Min(seconds, maxSeconds)));
        return true;
    }

    /// <summary>Writes a CMOS RAM byte (0Eh-7Fh) as the host, for example the boot order or disk types. Does not update the checksum.</summary>
    /// <param name="offset">0Eh to 7Fh.</param>
    /// <param name="value">The byte.</param>
    public void WriteCmos(int offset, byte value)
    {
        if (offset is < CmosLayout.DiagnosticStatus or >= RamSize)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, "Host writes to CMOS go to RAM bytes 0Eh-7Fh; the clock registers 00h-0Dh belong to the guest.");
        }

        _ram[offset] = value;
    }

    /// <summary>
    /// Fills the memory-size fields that BIOSes read: 15h-16h base memory (640 KB), 17h-18h and 30h-31h extended memory
    /// above 1 MB in KB (at most 65535), 34h-35h memory from 16 MB to 4 GB in 64 KB units, 5Bh-5Dh memory above 4 GB in
    /// 64 KB units; then the checksum.
    /// </summary>
    /// <param name="belowFourGigabytesInBytes">RAM below 4 GB (below the PCI hole), at least 1 MB.</param>
    /// <param name="aboveFourGigabytesInBytes">RAM mapped from 4 GB up.</param>
    public void SetMemorySize(long belowFourGigabytesInBytes, long aboveFourGigabytesInBytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(belowFourGigabytesInBytes, 1L << 20);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(belowFourGigabytesInBytes, 1L << 32);
        ArgumentOutOfRangeException.ThrowIfNegative(aboveFourGigabytesInBytes);
        const long MiB = 1 << 20;
        WriteWord(CmosLayout.BaseMemoryLow, 640);
        int extendedKb = (int)Math.Min((belowFourGigabytesInBytes - MiB) / 1024, 0xFFFF);
        WriteWord(CmosLayout.ExtendedMemoryLow, extendedKb);
        WriteWord(CmosLayout.ExtendedMemoryPostLow, extendedKb);
        int above16M = (int)Math.Clamp((belowFourGigabytesInBytes - (16 * MiB)) / 65536, 0, 0xFFFF);
        WriteWord(CmosLayout.MemoryAbove16MegabytesLow, above16M);
        long above4G = Math.Min(aboveFourGigabytesInBytes / 65536, 0xFFFFFF);
        _ram[CmosLayout.MemoryAbove4GigabytesLow] = (byte)above4G;
        _ram[CmosLayout.MemoryAbove4GigabytesLow + 1] = (byte)(above4G >> 8);
        _ram[CmosLayout.MemoryAbove4GigabytesLow + 2] = (byte)(above4G >> 16);
        UpdateChecksum();
    }

    /// <summary>Fills the floppy types (10h) and the equipment byte (14h: drive count, coprocessor, EGA/VGA display); then the checksum.</summary>
    /// <param name="driveA">Drive A's type.</param>
    /// <param name="driveB">Drive B's type.</param>
    /// <param name="mathCoprocessorPresent">Equipment bit 1.</param>
    public void SetEquipment(CmosFloppyDriveType driveA, CmosFloppyDriveType driveB, bool mathCoprocessorPresent = true)
    {
        if (!Enum.IsDefined(driveA) || !Enum.IsDefined(driveB))
        {
            throw new ArgumentOutOfRangeException(nameof(driveA), $"Unknown floppy drive type {driveA}/{driveB}.");
        }

        _ram[CmosLayout.FloppyDriveTypes] = (byte)(((int)driveA << 4) | (int)driveB);
        int drives = (driveA != CmosFloppyDriveType.None ? 1 : 0) + (driveB != CmosFloppyDriveType.None ? 1 : 0);
        byte equipment = (byte)(mathCoprocessorPresent ? 0x02 : 0);
        if (drives > 0)
        {
            equipment |= (byte)(0x01 | ((drives - 1) << 6));
        }

        _ram[CmosLayout.Equipment] = equipment;
        UpdateChecksum();
    }

    /// <summary>Recomputes the checksum of bytes 10h-2Dh into 2Eh (high) and 2Fh (low).</summary>
    public void UpdateChecksum()
    {
        int sum = 0;
        for (int i = CmosLayout.ChecksumFirst; i <= CmosLayout.ChecksumLast; i++)
        {
            sum += _ram[i];
        }

        _ram[CmosLayout.ChecksumHigh] = (byte)(sum >> 8);
        _ram[CmosLayout.ChecksumHigh + 1] = (byte)sum;
    }

    /// <summary>
    /// The RESET pin (datasheet "RESET"): clears PIE, AIE, UIE and SQWE in register B and every flag in register C, and
    /// lowers IRQ 8. Time, calendar, the divider and the RAM are untouched (the chip is battery-backed).
    /// </summary>
    public void Reset()
    {
        Sync();
        _ram[CmosLayout.RegisterB] &= 0x87;
        _ram[CmosLayout.RegisterC] = 0;
        UpdateInterrupt();
    }

    /// <inheritdoc/>
    public Rtc146818State SaveState()
    {
        Sync();
        return new(Rtc146818State.CurrentVersion, (byte[])_ram.Clone(), _index, NmiMasked, _dividerRunning, _originNanoseconds, _syncedCycle);
    }

    /// <inheritdoc/>
    /// <remarks>Restore the virtual clock first: the divider's origin must not be later than the current guest time.</remarks>
    public void RestoreState(Rtc146818State state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != Rtc146818State.CurrentVersion)
        {
            throw new ArgumentException($"Rtc146818State.Version {state.Version} is not supported (expected {Rtc146818State.CurrentVersion}).", nameof(state));
        }

        if (state.Ram is null || state.Ram.Length != RamSize || state.Index is < 0 or >= RamSize || state.SyncedCycle < 0)
        {
            throw new ArgumentException("Rtc146818State.Ram must hold 128 bytes, Index be 0-127 and SyncedCycle be 0 or more.", nameof(state));
        }

        if (state.DividerRunning && state.DividerOriginNanoseconds > _clock.NowNanoseconds)
        {
            throw new ArgumentException($"Rtc146818State.DividerOriginNanoseconds {state.DividerOriginNanoseconds} is after the current guest time {_clock.NowNanoseconds}; restore the clock first.", nameof(state));
        }

        state.Ram.CopyTo(_ram, 0);
        _index = state.Index;
        NmiMasked = state.NmiMasked;
        _dividerRunning = state.DividerRunning;
        _originNanoseconds = state.DividerOriginNanoseconds;
        _syncedCycle = state.SyncedCycle;
        UpdateInterrupt();
    }

    private static int PeriodCycles(int rateSelect) => rateSelect switch
    {
        1 => 128, // datasheet Table 5: RS 1 and 2 repeat rates 8 and 9 (3.90625 ms, 7.8125 ms) at 32.768 kHz
        2 => 256,
        _ => 1 << (rateSelect - 1),
    };

    private static long UpdatesUpTo(long cycle) => cycle < UpdateOffsetCycles ? 0 : ((cycle - UpdateOffsetCycles) / CyclesPerSecond) + 1;

    private static bool IsLeapYear(int year) => (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    private static int DaysInMonth(int month, int year) => month switch
    {
        2 => IsLeapYear(year) ? 29 : 28,
        4 or 6 or 9 or 11 => 30,
        _ => 31,
    };

    private bool Binary => (_ram[CmosLayout.RegisterB] & BBinary) != 0;

    private bool Hour24 => (_ram[CmosLayout.RegisterB] & B24Hour) != 0;

    private int RateSelect => _ram[CmosLayout.RegisterA] & 0x0F;

    private long CyclesAt(long nanoseconds)
    {
        long relative = nanoseconds - _originNanoseconds;
        return ((relative / NanosecondsPerSecond) * CyclesPerSecond) + ((relative % NanosecondsPerSecond) * CyclesPerSecond / NanosecondsPerSecond);
    }

    private long TimeOfCycle(long cycle) =>
        _originNanoseconds + ((cycle / CyclesPerSecond) * NanosecondsPerSecond)
        + ((((cycle % CyclesPerSecond) * NanosecondsPerSecond) + CyclesPerSecond - 1) / CyclesPerSecond);

    private int Decode(byte value) => Binary ? value : ((value >> 4) * 10) + (value & 0x0F);

    private byte Encode(int value) => Binary ? (byte)value : (byte)(((value / 10 % 10) << 4) | (value % 10));

    private int DecodeHour()
    {
        byte raw = _ram[4];
        if (Hour24)
        {
            return Decode(raw);
        }

        // 12-hour mode: bit 7 = PM, hours 1-12 (datasheet Table 3).
        return (Decode((byte)(raw & 0x7F)) % 12) + ((raw & 0x80) != 0 ? 12 : 0);
    }

    private void EncodeHour(int hour)
    {
        if (Hour24)
        {
            _ram[4] = Encode(hour);
        }
        else
        {
            int twelve = hour % 12 == 0 ? 12 : hour % 12;
            _ram[4] = (byte)(Encode(twelve) | (hour >= 12 ? 0x80 : 0));
        }
    }

    private void SetTime(DateTime time)
    {
        _ram[0] = Encode(time.Second);
        _ram[2] = Encode(time.Minute);
        EncodeHour(time.Hour);
        _ram[6] = Encode((int)time.DayOfWeek + 1);
        _ram[7] = Encode(time.Day);
        _ram[8] = Encode(time.Month);
        _ram[9] = Encode(time.Year % 100);
        _ram[CmosLayout.Century] = Encode(time.Year / 100);
    }

    private bool TryGetTime(out DateTime time)
    {
        int year = (Decode(_ram[CmosLayout.Century]) * 100) + Decode(_ram[9]);
        int month = Decode(_ram[8]);
        int day = Decode(_ram[7]);
        int hour = DecodeHour();
        int minute = Decode(_ram[2]);
        int second = Decode(_ram[0]);
        if (year is < 1 or > 9999 || month is < 1 or > 12 || day < 1 || day > DaysInMonth(month, year)
            || hour > 23 || minute > 59 || second > 59)
        {
            time = default;
            return false;
        }

        time = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified);
        return true;
    }

    /// <summary>Applies the divider cycles elapsed since the last sync: periodic flag, update cycles, alarm.</summary>
    private void Sync()
    {
        if (!_dividerRunning)
        {
            return;
        }

        long cycle = CyclesAt(_clock.NowNanoseconds);
        if (cycle <= _syncedCycle)
        {
            return;
        }

        long previous = _syncedCycle;
        _syncedCycle = cycle;
        byte flags = 0;
        int rate = RateSelect;
        if (rate != 0)
        {
            long period = PeriodCycles(rate);
            if (cycle / period != previous / period)
            {
                flags |= CPf; // set at the rate whether or not PIE is set
            }
        }

        long updates = UpdatesUpTo(cycle) - UpdatesUpTo(previous);
        if (updates > 0 && (_ram[CmosLayout.RegisterB] & BSet) == 0)
        {
            flags |= CUf;
            if (AdvanceSeconds(updates))
            {
                flags |= CAf;
            }
        }

        if (flags != 0)
        {
            _ram[CmosLayout.RegisterC] |= flags;
            UpdateInterrupt();
        }
    }

    /// <summary>Runs update cycles; returns whether an alarm matched (checked after each of the last few seconds).</summary>
    private bool AdvanceSeconds(long seconds)
    {
        const int StepwiseSeconds = 16;
        if (seconds > StepwiseSeconds && TryGetTime(out DateTime time))
        {
            // A long jump (idle skip, restore): move the calendar in one go; the alarm is checked on the last seconds only.
            long bulk = seconds - StepwiseSeconds;
            long maxSeconds = (long)(DateTime.MaxValue - time).TotalSeconds;
            SetTime(time.AddSeconds(Math.Min(bulk, maxSeconds)));
            seconds = StepwiseSeconds;
        }

        bool alarm = false;
        for (long i = 0; i < Math.Min(seconds, 1_000_000); i++)
        {
            StepSecond();
            alarm |= AlarmMatches();
        }

        return alarm;
    }

    /// <summary>One update cycle: seconds with carry through minutes, hours, day of week, date, month, year and century.</summary>
    private void StepSecond()
    {
        int second = Decode(_ram[0]) + 1;
        if (second < 60)
        {
            _ram[0] = Encode(second);
            return;
        }

        _ram[0] = Encode(0);
        int minute = Decode(_ram[2]) + 1;
        if (minute < 60)
        {
            _ram[2] = Encode(minute);
            return;
        }

        _ram[2] = Encode(0);
        int hour = DecodeHour() + 1;
        if (hour < 24)
        {
            EncodeHour(hour);
            return;
        }

        EncodeHour(0);
        int dayOfWeek = Decode(_ram[6]);
        _ram[6] = Encode(dayOfWeek is >= 1 and < 7 ? dayOfWeek + 1 : 1);
        int century = Decode(_ram[CmosLayout.Century]);
        int year = Decode(_ram[9]);
        int month = Decode(_ram[8]);
        int day = Decode(_ram[7]) + 1;
        if (day <= DaysInMonth(month, (century * 100) + year))
        {
            _ram[7] = Encode(day);
            return;
        }

        _ram[7] = Encode(1);
        if (++month <= 12)
        {
            _ram[8] = Encode(month);
            return;
        }

        _ram[8] = Encode(1);
        if (++year <= 99)
        {
            _ram[9] = Encode(year);
            return;
        }

        // The MC146818 has no century; PC firmware keeps it in CMOS 32h, and we carry into it as later chipsets do.
        _ram[9] = Encode(0);
        _ram[CmosLayout.Century] = Encode((century + 1) % 100);
    }

    private bool AlarmMatches()
    {
        // Datasheet "Alarm": an alarm byte with bits 7-6 = 11 is "don't care".
        for (int i = 0; i <= 4; i += 2)
        {
            byte alarm = _ram[i + 1];
            if ((alarm & 0xC0) != 0xC0 && alarm != _ram[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Recomputes IRQF, drives IRQ 8, and schedules the next event an enable bit needs.</summary>
    private void UpdateInterrupt()
    {
        byte b = _ram[CmosLayout.RegisterB];
        byte c = (byte)(_ram[CmosLayout.RegisterC] & 0x70);
        if ((c & b & (BPie | BAie | BUie)) != 0)
        {
            c |= CIrqf;
        }

        _ram[CmosLayout.RegisterC] = c;
        bool asserted = (c & CIrqf) != 0;
        _irq8?.SetLevel(asserted);

        // While IRQF is set a new flag changes nothing on the pin; flags are computed when register C is read.
        if (asserted || !_dividerRunning)
        {
            _periodicTimer.Cancel();
            _updateTimer.Cancel();
            return;
        }

        int rate = RateSelect;
        if ((b & BPie) != 0 && rate != 0)
        {
            long period = PeriodCycles(rate);
            _periodicTimer.ScheduleAt(TimeOfCycle(((_syncedCycle / period) + 1) * period));
        }
        else
        {
            _periodicTimer.Cancel();
        }

        if ((b & (BAie | BUie)) != 0 && (b & BSet) == 0)
        {
            long next = UpdateOffsetCycles + (UpdatesUpTo(_syncedCycle) * CyclesPerSecond);
            _updateTimer.ScheduleAt(TimeOfCycle(next));
        }
        else
        {
            _updateTimer.Cancel();
        }
    }

    private void OnTimer()
    {
        Sync();
        UpdateInterrupt();
    }

    private void Misuse(string what, int value)
    {
        GuestMisuseCount++;
        if (GuestMisuseCount <= MaxLoggedMisuses && _logger.IsEnabled(LogLevel.Debug))
        {
            LogMisuse(_logger, what, value);
        }
    }

    private void WriteWord(int offset, int value)
    {
        _ram[offset] = (byte)value;
        _ram[offset + 1] = (byte)(value >> 8);
    }

    private bool UpdateInProgress()
    {
        if (!_dividerRunning || (_ram[CmosLayout.RegisterB] & BSet) != 0)
        {
            return false;
        }

        long phase = (CyclesAt(_clock.NowNanoseconds) - UpdateOffsetCycles) % CyclesPerSecond;
        if (phase < 0)
        {
            phase += CyclesPerSecond;
        }

        return phase >= CyclesPerSecond - UipCycles;
    }

    private byte ReadData()
    {
        Sync();
        switch (_index)
        {
            case CmosLayout.RegisterA:
                return (byte)(_ram[CmosLayout.RegisterA] | (UpdateInProgress() ? 0x80 : 0));
            case CmosLayout.RegisterC:
                byte flags = _ram[CmosLayout.RegisterC];
                _ram[CmosLayout.RegisterC] = 0; // reading C clears every flag and IRQF (datasheet "Register C")
                UpdateInterrupt();
                return flags;
            default:
                return _ram[_index];
        }
    }

    private void WriteData(byte value)
    {
        Sync();
        switch (_index)
        {
            case CmosLayout.RegisterA:
                WriteRegisterA(value);
                break;
            case CmosLayout.RegisterB:
                if ((value & BSet) != 0)
                {
                    value &= unchecked((byte)~BUie); // datasheet: setting SET clears UIE
                }

                _ram[CmosLayout.RegisterB] = value;
                UpdateInterrupt();
                break;
            case CmosLayout.RegisterC:
            case CmosLayout.RegisterD:
                Misuse("write to read-only register " + (_index == CmosLayout.RegisterC ? "C" : "D"), value);
                break;
            default:
                _ram[_index] = value;
                if (_index <= 5)
                {
                    UpdateInterrupt(); // a new alarm or time may need the update timer
                }

                break;
        }
    }

    private void WriteRegisterA(byte value)
    {
        int divider = (value >> 4) & 7;
        _ram[CmosLayout.RegisterA] = (byte)(value & 0x7F);
        if (divider == 2)
        {
            if (!_dividerRunning)
            {
                // Leaving divider reset: the first update comes 500 ms later (datasheet "Divider Control").
                _dividerRunning = true;
                _originNanoseconds = _clock.NowNanoseconds;
                _syncedCycle = 0;
            }
        }
        else
        {
            if (divider < 6)
            {
                Misuse("register A selects a time base other than 32.768 kHz (clock stopped)", value);
            }

            _dividerRunning = false;
        }

        UpdateInterrupt();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "RTC: guest misuse: {What} (value {Value:X2}h).")]
    private static partial void LogMisuse(ILogger logger, string what, int value);

    /// <summary>Port 70h (index and NMI mask, write-only) and 71h (data).</summary>
    private sealed class Ports(Rtc146818 owner) : IPortDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.Byte;

        public uint Read(ushort offset, int sizeInBytes) => offset == 0 ? 0xFFu : owner.ReadData();

        public void Write(ushort offset, int sizeInBytes, uint value)
        {
            if (offset == 0)
            {
                owner.NmiMasked = (value & 0x80) != 0;
                owner._index = (int)(value & 0x7F);
            }
            else
            {
                owner.WriteData((byte)value);
            }
        }
    }
}
