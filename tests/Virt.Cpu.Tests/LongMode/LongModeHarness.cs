using Iced.Intel;
using Virt.Memory;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.LongMode;

/// <summary>
/// A CPU that enters IA-32e mode the way an operating system does (Intel SDM Vol. 3A, 10.8.5): 32-bit protected-mode code
/// sets CR4.PAE, CR3 (identity-mapped 4-level tables, 2 MiB pages, the same first GiB also at the top of the address space),
/// EFER.LME and SCE, CR0.PG, loads a 64-bit TSS in compatibility mode, then jumps far to a 64-bit code segment, where the
/// test's code (assembled by Iced with bitness 64) runs to HLT. Every IDT vector is a 64-bit interrupt gate to a HLT.
/// </summary>
internal sealed class LongModeHarness
{
    public const ushort Code64 = 0x08;
    public const ushort Data = 0x10;
    public const ushort Code32User = 0x18;
    public const ushort DataUser = 0x20;
    public const ushort Code64User = 0x28;
    public const ushort Code32 = 0x30;
    public const ushort Tss = 0x38;

    public const uint GdtAddress = 0x800;
    public const uint IdtAddress = 0x1000;
    public const uint TssAddress = 0x3000;
    public const uint HandlerBase = 0x9000;
    public const uint EntryAddress = 0x10000;
    public const uint CodeAddress = 0x20000;
    public const uint DataAddress = 0x40000;
    public const uint Ist1Top = 0x5FFF8; // deliberately not 16-byte aligned
    public const uint Rsp0Top = 0x68000;
    public const uint StackTop = 0x80000;
    public const uint Pml4 = 0x70000;
    public const uint Pdpt = 0x71000;
    public const uint PageDirectory = 0x72000;

    /// <summary>The linear address where PML4 entry 511 maps the first GiB again (a canonical high-half address).</summary>
    public const ulong HighHalf = 0xFFFF_FF80_0000_0000;

    public const uint MsrEfer = 0xC000_0080;

    public LongModeHarness(CpuidModel? model = null, CpuOptions? options = null)
    {
        var machine = new CpuHarness(model is null ? options : (options ?? new CpuOptions()) with { Cpuid = model }, ramBytes: 2 * 1024 * 1024);
        Memory = machine.Memory;
        Cpu = machine.Cpu;
    }

    public PhysicalMemoryMap Memory { get; }

    public Cpu Cpu { get; }

    public static byte[] Assemble(int bitness, Action<Assembler> build, ulong ip)
    {
        var a = new Assembler(bitness);
        build(a);
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), ip);
        return stream.ToArray();
    }

    /// <summary>Where the HLT of vector <paramref name="vector"/>'s handler is.</summary>
    public static uint HandlerAddress(int vector) => HandlerBase + ((uint)vector * 16);

    /// <summary>A 64-bit IDT gate for <paramref name="vector"/> to <paramref name="handler"/> (interrupt gate 0Eh, trap gate 0Fh).</summary>
    public void SetGate(int vector, ulong handler, int type = 0xE, int dpl = 0, int ist = 0, ushort selector = Code64)
    {
        ulong low = (handler & 0xFFFF) | ((ulong)selector << 16) | ((ulong)ist << 32) | ((ulong)(0x80 | (dpl << 5) | type) << 40)
            | (((handler >> 16) & 0xFFFF) << 48);
        Memory.WriteQuadWord(new PhysicalAddress(IdtAddress + ((ulong)vector * 16)), low);
        Memory.WriteQuadWord(new PhysicalAddress(IdtAddress + ((ulong)vector * 16) + 8), handler >> 32);
    }

    public void SetDescriptor(ushort selector, ulong descriptor) =>
        Memory.WriteQuadWord(new PhysicalAddress(GdtAddress + (uint)(selector & 0xFFF8)), descriptor);

    /// <summary>Writes the tables, the entry code and the 64-bit code, and points the CPU at the entry in 32-bit protected mode.</summary>
    public void Load(Action<Assembler> build64)
    {
        Cpu.Reset();
        SetDescriptor(Code64, 0x00AF_9A00_0000_FFFF);
        SetDescriptor(Data, 0x00CF_9200_0000_FFFF);
        SetDescriptor(Code32User, 0x00CF_FA00_0000_FFFF);
        SetDescriptor(DataUser, 0x00CF_F200_0000_FFFF);
        SetDescriptor(Code64User, 0x00AF_FA00_0000_FFFF);
        SetDescriptor(Code32, 0x00CF_9A00_0000_FFFF);
        SetDescriptor(Tss, 0x0000_8900_0000_0067 | ((ulong)TssAddress << 16)); // 64-bit TSS, limit 67h
        SetDescriptor(Tss + 8, 0); // bits 63:32 of the base
        Memory.WriteQuadWord(new PhysicalAddress(TssAddress + 4), Rsp0Top);
        Memory.WriteQuadWord(new PhysicalAddress(TssAddress + 0x24), Ist1Top);
        for (int vector = 0; vector < 256; vector++)
        {
            Memory.WriteByte(new PhysicalAddress(HandlerAddress(vector)), 0xF4);
            SetGate(vector, HandlerAddress(vector));
        }

        Memory.WriteQuadWord(new PhysicalAddress(Pml4), Pdpt | 7);
        Memory.WriteQuadWord(new PhysicalAddress(Pml4 + (511 * 8)), Pdpt | 7);
        Memory.WriteQuadWord(new PhysicalAddress(Pdpt), PageDirectory | 7);
        for (ulong i = 0; i < 512; i++)
        {
            Memory.WriteQuadWord(new PhysicalAddress(PageDirectory + (i * 8)), (i << 21) | 0x87);
        }

        Memory.Write(new PhysicalAddress(EntryAddress), Assemble(32, a =>
        {
            a.mov(eax, cr4);
            a.or(eax, 1 << 5); // PAE
            a.mov(cr4, eax);
            a.mov(eax, Pml4);
            a.mov(cr3, eax);
            a.mov(ecx, MsrEfer);
            a.rdmsr();
            a.or(eax, (1 << 8) | 1); // LME, SCE
            a.wrmsr();
            a.mov(eax, cr0);
            a.or(eax, 1u << 31); // PG: IA-32e mode active, compatibility mode
            a.mov(cr0, eax);
            a.mov(ax, Tss);
            a.ltr(ax);
            a.jmp(Code64, CodeAddress);
        }, EntryAddress));
        Memory.Write(new PhysicalAddress(CodeAddress), Assemble(64, build64, CodeAddress));

        Cpu.GdtBase = GdtAddress;
        Cpu.GdtLimit = 0x47;
        Cpu.IdtBase = IdtAddress;
        Cpu.IdtLimit = 0xFFF;
        Cpu.Cr0 |= 1;
        Cpu.LoadSegmentFromDescriptor(SegmentRegister.Cs, Code32, 0x00CF_9A00_0000_FFFF);
        foreach (SegmentRegister s in new[] { SegmentRegister.Ds, SegmentRegister.Es, SegmentRegister.Ss, SegmentRegister.Fs, SegmentRegister.Gs })
        {
            Cpu.LoadSegmentFromDescriptor(s, Data, 0x00CF_9200_0000_FFFF);
        }

        Cpu.Eip = EntryAddress;
        Cpu.SetRegister(GeneralRegister.Rsp, StackTop);
        Cpu.FlushDecodeCache();
    }

    public StopReason Run(Action<Assembler> build64, long maxInstructions = 10_000)
    {
        Load(build64);
        return Cpu.Run(maxInstructions);
    }

    public ulong Reg(GeneralRegister register) => Cpu.GetRegister(register);

    public ulong Qword(ulong address) => Memory.ReadQuadWord(new PhysicalAddress(address));

    /// <summary>The RIP a HLT handler leaves (one past the HLT of <paramref name="vector"/>'s handler).</summary>
    public static ulong HaltedIn(int vector) => HandlerAddress(vector) + 1;
}
