using Iced.Intel;
using Virt.Memory;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>
/// A 1 MiB machine already in 32-bit protected mode at CPL 0: a GDT at 800h with the descriptors below, an IDT at 1000h
/// whose gates (when installed) point at one-byte HLT handlers, flat code at 10000h, ESP = 80000h.
/// </summary>
internal sealed class ProtectedModeHarness
{
    public const uint GdtAddress = 0x800;
    public const uint IdtAddress = 0x1000;
    public const uint CodeAddress = 0x10000;
    public const uint StackTop = 0x80000;
    public const uint HandlerBase = 0x9000;

    public const ushort FlatCode = 0x08;
    public const ushort FlatData = 0x10;
    public const ushort Code16 = 0x18;
    public const ushort ReadOnlyData = 0x20;
    public const ushort NotPresentData = 0x28;
    public const ushort ExpandDownData = 0x30;
    public const ushort ExecuteOnlyCode = 0x38;
    public const ushort Dpl3Data = 0x40;
    public const ushort Tss32 = 0x48;
    public const ushort Ldt = 0x50;
    public const ushort Data16 = 0x58;
    public const ushort CallGate = 0x60;
    public const ushort Code3 = 0x68;

    public ProtectedModeHarness(CpuidModel? model = null, CpuOptions? options = null)
    {
        options ??= new CpuOptions();
        var machine = new CpuHarness(model is null ? options : options with { Cpuid = model });
        Memory = machine.Memory;
        Cpu = machine.Cpu;
        SetDescriptor(FlatCode, 0x00CF_9A00_0000_FFFF);
        SetDescriptor(FlatData, 0x00CF_9200_0000_FFFF);
        SetDescriptor(Code16, 0x0000_9A00_0000_FFFF);
        SetDescriptor(ReadOnlyData, 0x0000_9002_0000_0FFF); // base 20000h, limit FFFh, read-only
        SetDescriptor(NotPresentData, 0x00CF_1200_0000_FFFF);
        SetDescriptor(ExpandDownData, 0x0000_9603_0000_0FFF); // base 30000h, expand-down, limit FFFh, 16-bit (upper bound FFFFh)
        SetDescriptor(ExecuteOnlyCode, 0x00CF_9800_0000_FFFF);
        SetDescriptor(Dpl3Data, 0x00CF_F200_0000_FFFF);
        SetDescriptor(Ldt, 0x0000_8200_3800_000F);
        SetDescriptor(Data16, 0x0000_9204_0000_FFFF); // base 40000h, limit FFFFh, 16-bit stack
        SetDescriptor(Code3, 0x00CF_FA00_0000_FFFF); // flat 32-bit code, DPL 3
        SetDescriptor(Tss32, 0x0000_8900_3000_0087); // 32-bit TSS at 3000h with a 32-byte I/O bitmap at 68h (ports 0-FFh)
        Memory.WriteDoubleWord(new PhysicalAddress(0x3004), 0x70000); // ESP0
        Memory.WriteWord(new PhysicalAddress(0x3008), FlatData); // SS0
        Memory.WriteWord(new PhysicalAddress(0x3066), 0x68); // I/O map base
        for (uint i = 0; i < 32; i++)
        {
            Memory.WriteByte(new PhysicalAddress(0x3068 + i), i == 0x10 ? (byte)0xFE : (byte)0xFF); // only port 80h allowed
        }
        SetTables();
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

    public void SetDescriptor(ushort selector, ulong descriptor) =>
        Memory.WriteQuadWord(new PhysicalAddress(GdtAddress + (uint)(selector & 0xFFF8)), descriptor);

    public ulong Descriptor(ushort selector) => Memory.ReadQuadWord(new PhysicalAddress(GdtAddress + (uint)(selector & 0xFFF8)));

    /// <summary>An IDT gate for <paramref name="vector"/> (type 0Eh interrupt gate, 0Fh trap gate) to a HLT at <see cref="HandlerAddress"/>.</summary>
    public void InstallGate(int vector, int type = 0xE, int dpl = 0)
    {
        uint handler = HandlerAddress(vector);
        Memory.WriteByte(new PhysicalAddress(handler), 0xF4);
        ulong gate = (handler & 0xFFFFUL) | ((ulong)FlatCode << 16) | ((ulong)(0x80 | (dpl << 5) | type) << 40) | ((ulong)(handler >> 16) << 48);
        Memory.WriteQuadWord(new PhysicalAddress(IdtAddress + ((uint)vector * 8)), gate);
    }

    private void SetTables()
    {
        Cpu.GdtBase = GdtAddress;
        Cpu.GdtLimit = 0x7F;
        Cpu.IdtBase = IdtAddress;
        Cpu.IdtLimit = 0x7FF;
    }

    public static uint HandlerAddress(int vector) => HandlerBase + ((uint)vector * 16);

    /// <summary>Resets the CPU, loads 32-bit code at <see cref="CodeAddress"/> and enters it with flat CS/DS/ES/SS at CPL 0.</summary>
    public void Load(Action<Assembler> build)
    {
        Memory.Write(new PhysicalAddress(CodeAddress), Assemble(32, build, CodeAddress));
        Cpu.Reset();
        SetTables();
        Cpu.Cr0 |= 1;
        Cpu.LoadSegmentFromDescriptor(SegmentRegister.Cs, FlatCode, Descriptor(FlatCode));
        foreach (SegmentRegister s in new[] { SegmentRegister.Ds, SegmentRegister.Es, SegmentRegister.Ss, SegmentRegister.Fs, SegmentRegister.Gs })
        {
            Cpu.LoadSegmentFromDescriptor(s, FlatData, Descriptor(FlatData));
        }

        Cpu.Eip = CodeAddress;
        Cpu.SetRegister(GeneralRegister.Rsp, StackTop);
        Cpu.FlushDecodeCache();
    }

    public StopReason Run(Action<Assembler> build, long maxInstructions = 10_000)
    {
        Load(build);
        return Cpu.Run(maxInstructions);
    }

    public uint Dword(ulong address) => Memory.ReadDoubleWord(new PhysicalAddress(address));

    public ulong Reg(GeneralRegister register) => Cpu.GetRegister(register);
}
