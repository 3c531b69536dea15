using Iced.Intel;
using Virt.Machine.Boot;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Board;

/// <summary>
/// Flat protected-mode guests at 1 MiB for the APIC board: they build their own IDT, count interrupts in memory and
/// print the counts on COM1 as eight hex digits each ("L=0000000A ..."), then halt with interrupts off.
/// </summary>
internal static class ApicGuests
{
    public const uint CodeAddress = 0x10_0000;

    /// <summary>Where the guest keeps its counters: local APIC timer, PIT (through the I/O APIC), EOIs written, HPET interrupts.</summary>
    public const uint LapicCountAddress = 0x9000;
    public const uint PitCountAddress = 0x9004;
    public const uint EoiCountAddress = 0x9008;
    public const uint HpetCountAddress = 0x900C;

    /// <summary>Where the x2APIC guest counts its SELF IPIs.</summary>
    public const uint SelfIpiCountAddress = 0x9010;

    private const uint IdtAddress = 0x8000;
    private const uint IdtrAddress = 0x7F00;
    private const uint LapicBase = 0xFEE0_0000;
    private const uint IoApicBase = 0xFEC0_0000;
    private const uint HpetBase = 0xFED0_0000;
    private const ushort Com1Data = 0x3F8;
    private const ushort Com1LineStatus = 0x3FD;
    private const byte TransmitterHoldingEmpty = 0x20;

    public const byte PitVector = 0x30;
    public const byte LapicTimerVector = 0x40;

    /// <summary>The x2APIC guest's SELF IPI vector.</summary>
    public const byte SelfIpiVector = 0x41;
    public const byte SpuriousVector = 0xFF;
    public const byte PicBaseVector = 0x20;

    /// <summary>
    /// Enables the local APIC, runs its timer periodic (divide by 1, <paramref name="lapicInitialCount"/> bus ticks of
    /// 1 ns), routes the PIT's IRQ0 through I/O APIC pin 2 to <see cref="PitVector"/> with the 8259As masked, counts both
    /// and the EOIs until <paramref name="lapicInterrupts"/> timer interrupts, then prints "L=... P=... E=...".
    /// </summary>
    public static byte[] LapicTimerAndIoApic(int lapicInterrupts, uint lapicInitialCount, ushort pitCount) =>
        TwoPass(handlers => LapicTimerAndIoApic(handlers, lapicInterrupts, lapicInitialCount, pitCount));

    private static (Assembler, Label[]) LapicTimerAndIoApic(uint[] handlers, int lapicInterrupts, uint lapicInitialCount, ushort pitCount)
    {
        var a = new Assembler(32);
        Label putc = a.CreateLabel();
        Label printHex = a.CreateLabel();
        Label lapicHandler = a.CreateLabel();
        Label pitHandler = a.CreateLabel();
        Label spurious = a.CreateLabel();
        Label wait = a.CreateLabel();

        MaskPics(a);
        SetGate(a, LapicTimerVector, handlers[0]);
        SetGate(a, PitVector, handlers[1]);
        SetGate(a, SpuriousVector, handlers[2]);
        LoadIdt(a);

        // PIT channel 0, mode 2 (rate generator), binary.
        a.mov(al, 0x34);
        a.@out(0x43, al);
        a.mov(al, (byte)pitCount);
        a.@out(0x40, al);
        a.mov(al, (byte)(pitCount >> 8));
        a.@out(0x40, al);

        // Local APIC: software-enable with spurious vector FFh, timer periodic at vector 40h, divide by 1.
        a.mov(__dword_ptr[LapicBase + 0xF0], 0x100u | SpuriousVector);
        a.mov(__dword_ptr[LapicBase + 0x3E0], 0xBu);
        a.mov(__dword_ptr[LapicBase + 0x320], (1u << 17) | LapicTimerVector);
        a.mov(__dword_ptr[LapicBase + 0x380], lapicInitialCount);

        // I/O APIC pin 2 (ISA IRQ0 by the MADT override): fixed, edge, physical destination APIC 0, unmasked.
        a.mov(__dword_ptr[IoApicBase], 0x15u);
        a.mov(__dword_ptr[IoApicBase + 0x10], 0u);
        a.mov(__dword_ptr[IoApicBase], 0x14u);
        a.mov(__dword_ptr[IoApicBase + 0x10], (uint)PitVector);

        a.sti();
        a.Label(ref wait);
        a.hlt();
        a.cmp(__dword_ptr[LapicCountAddress], lapicInterrupts);
        a.jb(wait);
        a.cli();
        a.mov(__dword_ptr[LapicBase + 0x320], 0x1_0000u); // mask the timer
        a.mov(__dword_ptr[IoApicBase], 0x14u);
        a.mov(__dword_ptr[IoApicBase + 0x10], 0x1_0000u); // mask pin 2

        PrintCounter(a, "L=", LapicCountAddress, putc, printHex);
        PrintCounter(a, " P=", PitCountAddress, putc, printHex);
        PrintCounter(a, " E=", EoiCountAddress, putc, printHex);
        PrintText(a, "\n", putc);
        a.hlt();

        a.Label(ref lapicHandler);
        a.inc(__dword_ptr[LapicCountAddress]);
        Eoi(a);
        a.iretd();

        a.Label(ref pitHandler);
        a.inc(__dword_ptr[PitCountAddress]);
        Eoi(a);
        a.iretd();

        a.Label(ref spurious);
        a.iretd(); // SDM 10.9: no EOI for the spurious vector

        EmitSerialRoutines(a, putc, printHex);
        return (a, [lapicHandler, pitHandler, spurious]);
    }

    /// <summary>
    /// <see cref="LapicTimerAndIoApic(int, uint, ushort)"/> in x2APIC mode: switches IA32_APIC_BASE to x2APIC (EN and EXTD), then
    /// programs the SVR, the timer and its divider through the MSRs 80Fh, 83Eh, 832h and 838h, ends interrupts by writing 0
    /// to MSR 80Bh, sends one SELF IPI (MSR 83Fh) to <see cref="SelfIpiVector"/> and prints "L=... P=... E=... S=..." with
    /// the SELF IPI count.
    /// </summary>
    public static byte[] X2ApicTimerAndIoApic(int lapicInterrupts, uint lapicInitialCount, ushort pitCount) =>
        TwoPass(handlers => X2ApicTimerAndIoApic(handlers, lapicInterrupts, lapicInitialCount, pitCount));

    private static void WriteMsr(Assembler a, uint index, ulong value)
    {
        a.mov(ecx, index);
        a.mov(eax, (uint)value);
        a.mov(edx, (uint)(value >> 32));
        a.wrmsr();
    }

    private static void X2ApicEoi(Assembler a)
    {
        WriteMsr(a, 0x80B, 0);
        a.inc(__dword_ptr[EoiCountAddress]);
    }

    private static (Assembler, Label[]) X2ApicTimerAndIoApic(uint[] handlers, int lapicInterrupts, uint lapicInitialCount, ushort pitCount)
    {
        var a = new Assembler(32);
        Label putc = a.CreateLabel();
        Label printHex = a.CreateLabel();
        Label lapicHandler = a.CreateLabel();
        Label pitHandler = a.CreateLabel();
        Label spurious = a.CreateLabel();
        Label selfIpiHandler = a.CreateLabel();
        Label wait = a.CreateLabel();

        MaskPics(a);
        SetGate(a, LapicTimerVector, handlers[0]);
        SetGate(a, PitVector, handlers[1]);
        SetGate(a, SpuriousVector, handlers[2]);
        SetGate(a, SelfIpiVector, handlers[3]);
        LoadIdt(a);

        a.mov(al, 0x34);
        a.@out(0x43, al);
        a.mov(al, (byte)pitCount);
        a.@out(0x40, al);
        a.mov(al, (byte)(pitCount >> 8));
        a.@out(0x40, al);

        // xAPIC -> x2APIC: EN (bit 11) and EXTD (bit 10) at the default base (SDM 11.12.5.1).
        WriteMsr(a, 0x1B, LapicBase | 0xD00u);
        WriteMsr(a, 0x80F, 0x100u | SpuriousVector);
        WriteMsr(a, 0x83E, 0xB);
        WriteMsr(a, 0x832, (1u << 17) | LapicTimerVector);
        WriteMsr(a, 0x838, lapicInitialCount);

        a.mov(__dword_ptr[IoApicBase], 0x15u);
        a.mov(__dword_ptr[IoApicBase + 0x10], 0u);
        a.mov(__dword_ptr[IoApicBase], 0x14u);
        a.mov(__dword_ptr[IoApicBase + 0x10], (uint)PitVector);

        a.sti();
        WriteMsr(a, 0x83F, SelfIpiVector);
        a.Label(ref wait);
        a.hlt();
        a.cmp(__dword_ptr[LapicCountAddress], lapicInterrupts);
        a.jb(wait);
        a.cli();
        WriteMsr(a, 0x832, 0x1_0000u);
        a.mov(__dword_ptr[IoApicBase], 0x14u);
        a.mov(__dword_ptr[IoApicBase + 0x10], 0x1_0000u);

        PrintCounter(a, "L=", LapicCountAddress, putc, printHex);
        PrintCounter(a, " P=", PitCountAddress, putc, printHex);
        PrintCounter(a, " E=", EoiCountAddress, putc, printHex);
        PrintCounter(a, " S=", SelfIpiCountAddress, putc, printHex);
        PrintText(a, "\n", putc);
        a.hlt();

        a.Label(ref lapicHandler);
        a.inc(__dword_ptr[LapicCountAddress]);
        X2ApicEoi(a);
        a.iretd();

        a.Label(ref pitHandler);
        a.inc(__dword_ptr[PitCountAddress]);
        X2ApicEoi(a);
        a.iretd();

        a.Label(ref spurious);
        a.iretd();

        a.Label(ref selfIpiHandler);
        a.inc(__dword_ptr[SelfIpiCountAddress]);
        X2ApicEoi(a);
        a.iretd();

        EmitSerialRoutines(a, putc, printHex);
        return (a, [lapicHandler, pitHandler, spurious, selfIpiHandler]);
    }

    /// <summary>
    /// Leaves the APIC alone (the 8259A reaches the CPU as on the PC without one), programs the PIC with IRQ0 at vector
    /// 20h, runs the PIT at 1 ms and the HPET's timer 0 periodic every <paramref name="hpetPeriodTicks"/> (10 ns each) in
    /// legacy replacement mode, counts IRQ0 interrupts up to <paramref name="interrupts"/> and prints "H=... C=hi lo"
    /// with the HPET's main counter.
    /// </summary>
    public static byte[] HpetLegacyReplacement(int interrupts, uint hpetPeriodTicks) =>
        TwoPass(handlers => HpetLegacyReplacement(handlers, interrupts, hpetPeriodTicks));

    private static (Assembler, Label[]) HpetLegacyReplacement(uint[] handlers, int interrupts, uint hpetPeriodTicks)
    {
        var a = new Assembler(32);
        Label putc = a.CreateLabel();
        Label printHex = a.CreateLabel();
        Label irq0Handler = a.CreateLabel();
        Label wait = a.CreateLabel();

        // The 8259A pair: master at 20h, slave at 28h, only IRQ0 unmasked.
        foreach ((ushort port, byte value) in new (ushort, byte)[]
        {
            (0x20, 0x11), (0x21, PicBaseVector), (0x21, 0x04), (0x21, 0x01), (0x21, 0xFE),
            (0xA0, 0x11), (0xA1, PicBaseVector + 8), (0xA1, 0x02), (0xA1, 0x01), (0xA1, 0xFF),
        })
        {
            a.mov(al, value);
            a.@out((byte)port, al);
        }

        SetGate(a, PicBaseVector, handlers[0]);
        LoadIdt(a);

        // The PIT at 1 ms: in legacy replacement mode it must not reach IRQ0.
        a.mov(al, 0x34);
        a.@out(0x43, al);
        a.mov(al, 0xA9);
        a.@out(0x40, al);
        a.mov(al, 0x04);
        a.@out(0x40, al);

        // HPET timer 0 as Linux sets it up: interrupt enabled, periodic, value-set, 32-bit; the first comparator write
        // sets the comparator (and period), the second the period; then ENABLE_CNF | LEG_RT_CNF.
        a.mov(__dword_ptr[HpetBase + 0x100], (1u << 2) | (1u << 3) | (1u << 6) | (1u << 8));
        a.mov(__dword_ptr[HpetBase + 0x108], hpetPeriodTicks);
        a.mov(__dword_ptr[HpetBase + 0x108], hpetPeriodTicks);
        a.mov(__dword_ptr[HpetBase + 0x10], 3u);

        a.sti();
        a.Label(ref wait);
        a.hlt();
        a.cmp(__dword_ptr[HpetCountAddress], interrupts);
        a.jb(wait);
        a.cli();
        a.mov(eax, __dword_ptr[HpetBase + 0xF0]);
        a.mov(__dword_ptr[LapicCountAddress], eax); // scratch: the counter's low half
        a.mov(__dword_ptr[HpetBase + 0x10], 0u); // halt it, legacy routing off

        PrintCounter(a, "H=", HpetCountAddress, putc, printHex);
        PrintCounter(a, " C=", LapicCountAddress, putc, printHex);
        PrintText(a, "\n", putc);
        a.hlt();

        a.Label(ref irq0Handler);
        a.inc(__dword_ptr[HpetCountAddress]);
        a.push(eax);
        a.mov(al, 0x20);
        a.@out(0x20, al); // non-specific EOI to the master 8259A
        a.pop(eax);
        a.iretd();

        EmitSerialRoutines(a, putc, printHex);
        return (a, [irq0Handler]);
    }

    /// <summary>
    /// A deterministic ISA machine (<see cref="MachineBoard.IsaPc"/>, so each test adds the APIC devices it is about) with
    /// COM1 captured, booting <paramref name="image"/> at <see cref="CodeAddress"/>.
    /// </summary>
    public static MachineBuilder Builder(byte[] image) => new MachineBuilder()
        .WithBoard(MachineBoard.IsaPc)
        .WithMemorySize(16UL << 20)
        .WithClock(new Devices.VirtualClockOptions { Mode = Devices.VirtualClockMode.Deterministic })
        .WithSerialCapture(0)
        .WithFlatBinary(image, new Memory.PhysicalAddress(CodeAddress), BootEntryState.FlatProtectedMode(CodeAddress, "APIC test guest"));

    private static void MaskPics(Assembler a)
    {
        a.mov(al, 0xFF);
        a.@out(0x21, al);
        a.@out(0xA1, al);
    }

    private static void Eoi(Assembler a)
    {
        a.mov(__dword_ptr[LapicBase + 0xB0], 0u);
        a.inc(__dword_ptr[EoiCountAddress]);
    }

    /// <summary>Writes a 32-bit interrupt gate (present, DPL 0) for <paramref name="vector"/> to <paramref name="handler"/>.</summary>
    private static void SetGate(Assembler a, byte vector, uint handler)
    {
        uint gate = IdtAddress + (vector * 8u);
        a.mov(eax, handler);
        a.mov(__word_ptr[gate], ax);
        a.mov(__word_ptr[gate + 2], (ushort)BootGdt.CodeSelector);
        a.mov(__word_ptr[gate + 4], (ushort)0x8E00);
        a.shr(eax, 16);
        a.mov(__word_ptr[gate + 6], ax);
    }

    private static void LoadIdt(Assembler a)
    {
        a.mov(__word_ptr[IdtrAddress], (ushort)((256 * 8) - 1));
        a.mov(__dword_ptr[IdtrAddress + 2], IdtAddress);
        a.lidt(__[IdtrAddress]);
    }

    private static void PrintText(Assembler a, string text, Label putc)
    {
        foreach (char c in text)
        {
            a.mov(bl, (byte)c);
            a.call(putc);
        }
    }

    private static void PrintCounter(Assembler a, string label, uint address, Label putc, Label printHex)
    {
        PrintText(a, label, putc);
        a.mov(eax, __dword_ptr[address]);
        a.call(printHex);
    }

    /// <summary>putc: BL to COM1 (polling LSR.THRE); printHex: EAX as eight hex digits.</summary>
    private static void EmitSerialRoutines(Assembler a, Label putc, Label printHex)
    {
        Label wait = a.CreateLabel();
        Label next = a.CreateLabel();
        Label digit = a.CreateLabel();
        Label emit = a.CreateLabel();

        a.Label(ref putc);
        a.push(eax);
        a.push(edx);
        a.mov(dx, Com1LineStatus);
        a.Label(ref wait);
        a.@in(al, dx);
        a.test(al, TransmitterHoldingEmpty);
        a.jz(wait);
        a.mov(dx, Com1Data);
        a.mov(al, bl);
        a.@out(dx, al);
        a.pop(edx);
        a.pop(eax);
        a.ret();

        a.Label(ref printHex);
        a.mov(ecx, 8);
        a.Label(ref next);
        a.rol(eax, 4);
        a.mov(ebx, eax);
        a.and(ebx, 0xF);
        a.cmp(bl, 10);
        a.jb(digit);
        a.add(bl, (byte)('A' - 10));
        a.jmp(emit);
        a.Label(ref digit);
        a.add(bl, (byte)'0');
        a.Label(ref emit);
        a.call(putc);
        a.dec(ecx);
        a.jnz(next);
        a.ret();
    }

    /// <summary>
    /// Assembles twice: first with placeholder handler addresses to learn where the handlers land, then with those
    /// addresses in the IDT set-up (MOV EAX, imm32 has one length whatever the value, so nothing moves).
    /// </summary>
    private static byte[] TwoPass(Func<uint[], (Assembler Code, Label[] Handlers)> generate)
    {
        (Assembler first, Label[] labels) = generate(new uint[8]);
        AssemblerResult layout = first.Assemble(new StreamCodeWriter(new MemoryStream()), CodeAddress, BlockEncoderOptions.ReturnNewInstructionOffsets);
        uint[] addresses = [.. labels.Select(l => (uint)layout.GetLabelRIP(l))];
        (Assembler second, _) = generate(addresses);
        using var stream = new MemoryStream();
        second.Assemble(new StreamCodeWriter(stream), CodeAddress);
        return stream.ToArray();
    }
}
