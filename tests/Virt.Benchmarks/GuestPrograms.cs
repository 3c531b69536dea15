using Iced.Intel;
using Virt.Cpu;
using Virt.Memory;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Benchmarks;

/// <summary>Real-mode guest programs with a known instruction count, built with Iced's assembler, for the MIPS benchmark.</summary>
public static class GuestPrograms
{
    /// <summary>Where the guest code is loaded (0000:1000).</summary>
    public const ushort CodeOffset = 0x1000;

    /// <summary>Instructions outside the ALU/branch loop (setup and HLT).</summary>
    public const long AluLoopOverheadInstructions = 5;

    /// <summary>Instructions per iteration of the mixed loop, counting each REP MOVSD iteration as one (16 dwords).</summary>
    public const long MixedLoopBodyInstructions = 15 + 16;

    /// <summary>Instructions outside the mixed loop.</summary>
    public const long MixedLoopOverheadInstructions = 7;

    /// <summary>
    /// Instructions the ALU/branch loop retires: 11 per iteration, plus the OR that runs on the iterations where SI is odd
    /// (every other one), plus the setup and HLT.
    /// </summary>
    /// <param name="iterations">Loop iterations.</param>
    /// <returns>The exact count.</returns>
    public static long AluLoopInstructions(uint iterations) => (11L * iterations) + ((iterations + 1) / 2) + AluLoopOverheadInstructions;

    /// <summary>Integer ALU work and branches only: the loop the 100 M instructions/s goal is about.</summary>
    /// <param name="iterations">Loop iterations.</param>
    /// <returns>The machine code, to load at <see cref="CodeOffset"/>.</returns>
    public static byte[] AluBranchLoop(uint iterations)
    {
        var a = new Assembler(16);
        Label loop = a.CreateLabel();
        Label skip = a.CreateLabel();
        a.mov(ecx, iterations);
        a.xor(ax, ax);
        a.mov(bx, 0x1234);
        a.mov(dx, 7);
        a.Label(ref loop);
        a.add(ax, bx);
        a.xor(dx, ax);
        a.sub(bx, 3);
        a.inc(si);
        a.and(di, 0x7FFF);
        a.test(si, 1);
        a.jz(skip);
        a.or(di, 1);
        a.Label(ref skip);
        a.shl(ax, 1);
        a.adc(dx, 0);
        a.dec(ecx);
        a.jnz(loop);
        a.hlt();
        return Assemble(a);
    }

    /// <summary>Loads, stores, a call and return, stack traffic, ALU work and a 16-dword REP MOVSD per iteration.</summary>
    /// <param name="iterations">Loop iterations.</param>
    /// <returns>The machine code, to load at <see cref="CodeOffset"/>.</returns>
    public static byte[] MixedLoop(uint iterations)
    {
        var a = new Assembler(16);
        Label loop = a.CreateLabel();
        Label function = a.CreateLabel();
        a.mov(ebp, iterations);
        a.mov(ax, 0x2000);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(sp, 0x8000);
        a.cld();
        a.Label(ref loop);
        a.mov(__word_ptr[bx + 0x100], ax);
        a.mov(dx, __word_ptr[bx + 0x102]);
        a.add(ax, dx);
        a.push(ax);
        a.call(function);
        a.pop(ax);
        a.xor(si, si);
        a.mov(di, 0x400);
        a.mov(ecx, 16);
        a.rep.movsd();
        a.add(bx, 2);
        a.and(bx, 0xFE);
        a.dec(ebp);
        a.jnz(loop);
        a.hlt();
        a.Label(ref function);
        a.inc(__word_ptr[0x200]);
        a.ret();
        return Assemble(a);
    }

    /// <summary>Where the protected-mode loop's page directory lives (its page table follows at +1000h).</summary>
    public const uint PageDirectory = 0x80000;

    /// <summary>
    /// The mixed loop as 32-bit protected-mode code whose data, stack and code lie on six different 4 KiB pages, so that
    /// with paging on every access goes through the TLB.
    /// </summary>
    /// <param name="iterations">Loop iterations.</param>
    /// <returns>The machine code, to load at <see cref="CodeOffset"/>.</returns>
    public static byte[] ProtectedMixedLoop(uint iterations)
    {
        var a = new Assembler(32);
        Label loop = a.CreateLabel();
        Label function = a.CreateLabel();
        a.mov(ebp, iterations);
        a.mov(esp, 0x60000);
        a.xor(ebx, ebx);
        a.cld();
        a.Label(ref loop);
        a.mov(__dword_ptr[ebx + 0x20100], eax);
        a.mov(edx, __dword_ptr[ebx + 0x20102]);
        a.add(eax, edx);
        a.push(eax);
        a.call(function);
        a.pop(eax);
        a.mov(esi, 0x30000);
        a.mov(edi, 0x40400);
        a.mov(ecx, 16);
        a.rep.movsd();
        a.add(ebx, 2);
        a.and(ebx, 0xFE);
        a.dec(ebp);
        a.jnz(loop);
        a.hlt();
        a.Label(ref function);
        a.inc(__dword_ptr[0x50200]);
        a.ret();
        return Assemble(a);
    }

    /// <summary>The ALU/branch loop as 32-bit protected-mode code (11.5 instructions per iteration, as the real-mode one).</summary>
    /// <param name="iterations">Loop iterations.</param>
    /// <returns>The machine code, to load at <see cref="CodeOffset"/>.</returns>
    public static byte[] ProtectedAluBranchLoop(uint iterations)
    {
        var a = new Assembler(32);
        Label loop = a.CreateLabel();
        Label skip = a.CreateLabel();
        a.mov(ecx, iterations);
        a.xor(eax, eax);
        a.mov(ebx, 0x1234);
        a.mov(edx, 7);
        a.Label(ref loop);
        a.add(eax, ebx);
        a.xor(edx, eax);
        a.sub(ebx, 3);
        a.inc(esi);
        a.and(edi, 0x7FFF);
        a.test(esi, 1);
        a.jz(skip);
        a.or(edi, 1);
        a.Label(ref skip);
        a.shl(eax, 1);
        a.adc(edx, 0);
        a.dec(ecx);
        a.jnz(loop);
        a.hlt();
        return Assemble(a);
    }

    /// <summary>
    /// Builds a 1 MiB machine with 32-bit code at <see cref="CodeOffset"/> and a CPU in protected mode with flat 4 GiB
    /// segments at CPL 0; with <paramref name="paging"/>, 4 KiB pages identity-map the first MiB (CR0.PG set).
    /// </summary>
    /// <param name="code">The guest code.</param>
    /// <param name="options">CPU options.</param>
    /// <param name="paging">Whether paging is on.</param>
    /// <returns>The CPU.</returns>
    public static Cpu.Cpu CreateProtectedMachine(byte[] code, CpuOptions options, bool paging)
    {
        PhysicalMemoryMap memory = new PhysicalMemoryMapBuilder().AddRam("ram", new PhysicalAddress(0), 1024 * 1024).Build();
        memory.Write(new PhysicalAddress(CodeOffset), code);
        const uint pageTable = PageDirectory + 0x1000;
        memory.WriteDoubleWord(new PhysicalAddress(PageDirectory), pageTable | 3);
        for (uint page = 0; page < 256; page++)
        {
            memory.WriteDoubleWord(new PhysicalAddress(pageTable + (page * 4)), (page << 12) | 3);
        }

        var cpu = new Cpu.Cpu(memory, new IoPortSpace(), options: options);
        cpu.Cr0 |= 1;
        cpu.SetSegment(SegmentRegister.Cs, new SegmentState(0x08, 0, 0xFFFF_FFFF, 0xC09B));
        foreach (SegmentRegister segment in new[] { SegmentRegister.Ds, SegmentRegister.Es, SegmentRegister.Ss, SegmentRegister.Fs, SegmentRegister.Gs })
        {
            cpu.SetSegment(segment, new SegmentState(0x10, 0, 0xFFFF_FFFF, 0xC093));
        }

        if (paging)
        {
            cpu.Cr3 = PageDirectory;
            cpu.Cr0 |= 0x8000_0000;
        }

        cpu.Eip = CodeOffset;
        return cpu;
    }

    /// <summary>Builds a 1 MiB machine with <paramref name="code"/> at 0000:<see cref="CodeOffset"/> and a CPU about to run it.</summary>
    /// <param name="code">The guest code.</param>
    /// <param name="options">CPU options.</param>
    /// <returns>The CPU.</returns>
    public static Cpu.Cpu CreateMachine(byte[] code, CpuOptions options)
    {
        PhysicalMemoryMap memory = new PhysicalMemoryMapBuilder().AddRam("ram", new PhysicalAddress(0), 1024 * 1024).Build();
        memory.Write(new PhysicalAddress(CodeOffset), code);
        var cpu = new Cpu.Cpu(memory, new IoPortSpace(), options: options);
        cpu.SetSegment(SegmentRegister.Cs, SegmentState.RealMode(0));
        cpu.Eip = CodeOffset;
        return cpu;
    }

    private static byte[] Assemble(Assembler a)
    {
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), CodeOffset);
        return stream.ToArray();
    }
}
