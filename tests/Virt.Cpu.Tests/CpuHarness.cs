using Iced.Intel;
using Virt.Memory;

namespace Virt.Cpu.Tests;

/// <summary>
/// The one place the CPU tests build a CPU over RAM (1 MiB unless told) and an empty port space. For real-mode guest code it
/// assembles with Iced at 0000:1000 and runs to HLT; the protected-mode, paging and decode-cache harnesses build on it.
/// </summary>
internal sealed class CpuHarness
{
    public const ushort CodeOffset = 0x1000;
    public const ulong DefaultRamBytes = 1024 * 1024;

    public CpuHarness(CpuOptions? options = null, ulong ramBytes = DefaultRamBytes, MemoryMapOptions? memoryOptions = null, IFpuErrorOutput? fpuError = null)
    {
        Memory = (memoryOptions is null ? new PhysicalMemoryMapBuilder() : new PhysicalMemoryMapBuilder(memoryOptions))
            .AddRam("ram", new PhysicalAddress(0), ramBytes).Build();
        Ports = new IoPortSpace();
        Cpu = new Cpu(new CpuBus { Memory = Memory, Ports = Ports, FpuError = fpuError }, options);
    }

    public PhysicalMemoryMap Memory { get; }

    public IoPortSpace Ports { get; }

    public Cpu Cpu { get; }

    public static byte[] Assemble(Action<Assembler> build, ulong ip = CodeOffset)
    {
        var a = new Assembler(16);
        build(a);
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), ip);
        return stream.ToArray();
    }

    /// <summary>Resets the CPU, loads code at 0000:1000 with SS:SP = 0000:8000, and points CS:IP at it.</summary>
    public void Load(Action<Assembler> build)
    {
        byte[] code = Assemble(build);
        Cpu.Reset();
        Memory.Write(new PhysicalAddress(CodeOffset), code);
        Cpu.SetSegment(SegmentRegister.Cs, SegmentState.RealMode(0));
        Cpu.Eip = CodeOffset;
        Cpu.SetRegister(GeneralRegister.Rsp, 0x8000);
    }

    /// <summary>
    /// Two-pass assembly for code that needs label addresses as immediates: <paramref name="build"/> gets the addresses of the
    /// labels it returned on the previous pass (zeros on the first); instruction sizes must not depend on them.
    /// </summary>
    public StopReason RunWithLabels(Func<Assembler, ushort[], Label[]> build, int labelCount, long maxInstructions = 100_000)
    {
        ushort[] addresses = new ushort[labelCount];
        for (int pass = 0; pass < 2; pass++)
        {
            var a = new Assembler(16);
            Label[] labels = build(a, addresses);
            using var stream = new MemoryStream();
            AssemblerResult result = a.Assemble(new StreamCodeWriter(stream), CodeOffset, BlockEncoderOptions.ReturnNewInstructionOffsets);
            if (pass == 1)
            {
                Cpu.Reset();
                Memory.Write(new PhysicalAddress(CodeOffset), stream.ToArray());
                Cpu.SetSegment(SegmentRegister.Cs, SegmentState.RealMode(0));
                Cpu.Eip = CodeOffset;
                Cpu.SetRegister(GeneralRegister.Rsp, 0x8000);
                return Cpu.Run(maxInstructions);
            }

            for (int i = 0; i < labelCount; i++)
            {
                addresses[i] = (ushort)result.GetLabelRIP(labels[i]);
            }
        }

        throw new InvalidOperationException("unreachable");
    }

    /// <summary>Loads and runs to HLT (at most <paramref name="maxInstructions"/>).</summary>
    public StopReason Run(Action<Assembler> build, long maxInstructions = 100_000)
    {
        Load(build);
        return Cpu.Run(maxInstructions);
    }

    /// <summary>Points interrupt vector <paramref name="vector"/> at a handler made of HLT at 0000:(0x500 + vector * 2).</summary>
    public void InstallHaltHandler(int vector)
    {
        ushort handler = (ushort)(0x500 + (vector * 2));
        Memory.WriteByte(new PhysicalAddress(handler), 0xF4);
        Memory.WriteWord(new PhysicalAddress((ulong)vector * 4), handler);
        Memory.WriteWord(new PhysicalAddress(((ulong)vector * 4) + 2), 0);
    }

    /// <summary>Where the handler installed by <see cref="InstallHaltHandler"/> leaves IP (one past its HLT).</summary>
    public static uint HaltHandlerReturn(int vector) => (uint)(0x500 + (vector * 2) + 1);

    public ushort Word(ulong address) => Memory.ReadWord(new PhysicalAddress(address));

    public ulong Reg(GeneralRegister register) => Cpu.GetRegister(register);
}
