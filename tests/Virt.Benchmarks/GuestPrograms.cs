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
    /// The ALU/branch loop as 64-bit code: the same instructions as <see cref="ProtectedAluBranchLoop"/> on 64-bit registers
    /// (REX.W forms, 11.5 instructions per iteration), for the 32-bit versus 64-bit comparison.
    /// </summary>
    /// <param name="iterations">Loop iterations.</param>
    /// <returns>The machine code, to load at <see cref="CodeOffset"/>.</returns>
    public static byte[] LongAluBranchLoop(uint iterations)
    {
        var a = new Assembler(64);
        Label loop = a.CreateLabel();
        Label skip = a.CreateLabel();
        a.mov(rcx, iterations);
        a.xor(rax, rax);
        a.mov(rbx, 0x1234);
        a.mov(rdx, 7);
        a.Label(ref loop);
        a.add(rax, rbx);
        a.xor(rdx, rax);
        a.sub(rbx, 3);
        a.inc(rsi);
        a.and(rdi, 0x7FFF);
        a.test(rsi, 1);
        a.jz(skip);
        a.or(rdi, 1);
        a.Label(ref skip);
        a.shl(rax, 1);
        a.adc(rdx, 0);
        a.dec(rcx);
        a.jnz(loop);
        a.hlt();
        return Assemble(a);
    }

    /// <summary>The mixed loop as 64-bit code: the instructions of <see cref="ProtectedMixedLoop"/> with 64-bit registers and addresses.</summary>
    /// <param name="iterations">Loop iterations.</param>
    /// <returns>The machine code, to load at <see cref="CodeOffset"/>.</returns>
    public static byte[] LongMixedLoop(uint iterations)
    {
        var a = new Assembler(64);
        Label loop = a.CreateLabel();
        Label function = a.CreateLabel();
        a.mov(rbp, iterations);
        a.mov(rsp, 0x60000);
        a.xor(ebx, ebx);
        a.cld();
        a.Label(ref loop);
        a.mov(__dword_ptr[rbx + 0x20100], eax);
        a.mov(edx, __dword_ptr[rbx + 0x20102]);
        a.add(eax, edx);
        a.push(rax);
        a.call(function);
        a.pop(rax);
        a.mov(esi, 0x30000);
        a.mov(edi, 0x40400);
        a.mov(ecx, 16);
        a.rep.movsd();
        a.add(rbx, 2);
        a.and(rbx, 0xFE);
        a.dec(rbp);
        a.jnz(loop);
        a.hlt();
        a.Label(ref function);
        a.inc(__dword_ptr[0x50200]);
        a.ret();
        return Assemble(a);
    }

    /// <summary>
    /// Builds a 1 MiB machine with 64-bit code at <see cref="CodeOffset"/> and a CPU in 64-bit mode at CPL 0: 4-level paging
    /// with 4 KiB pages identity-mapping the first MiB (the same leaf tables as the 32-bit paged machine), EFER.LME/LMA,
    /// a 64-bit CS.
    /// </summary>
    /// <param name="code">The guest code.</param>
    /// <param name="options">CPU options.</param>
    /// <returns>The CPU.</returns>
    public static Cpu.Cpu CreateLongModeMachine(byte[] code, CpuOptions options)
    {
        PhysicalMemoryMap memory = new PhysicalMemoryMapBuilder().AddRam("ram", new PhysicalAddress(0), 1024 * 1024).Build();
        memory.Write(new PhysicalAddress(CodeOffset), code);
        const uint pml4 = PageDirectory;
        const uint pdpt = PageDirectory + 0x1000;
        const uint directory = PageDirectory + 0x2000;
        const uint pageTable = PageDirectory + 0x3000;
        memory.WriteQuadWord(new PhysicalAddress(pml4), pdpt | 3);
        memory.WriteQuadWord(new PhysicalAddress(pdpt), directory | 3);
        memory.WriteQuadWord(new PhysicalAddress(directory), pageTable | 3);
        for (uint page = 0; page < 256; page++)
        {
            memory.WriteQuadWord(new PhysicalAddress(pageTable + (page * 8)), ((ulong)page << 12) | 3);
        }

        var cpu = new Cpu.Cpu(memory, new IoPortSpace(), options: options);
        const uint efer = 0xC000_0080;
        if (!cpu.TryWriteMsr(efer, 1UL << 8))
        {
            throw new InvalidOperationException("The CPU model has no long mode.");
        }

        cpu.Cr4 |= 1 << 5;
        cpu.Cr3 = pml4;
        cpu.Cr0 |= 0x8000_0001;
        cpu.SetSegment(SegmentRegister.Cs, new SegmentState(0x08, 0, 0xFFFF_FFFF, 0xA09B));
        foreach (SegmentRegister segment in new[] { SegmentRegister.Ds, SegmentRegister.Es, SegmentRegister.Ss, SegmentRegister.Fs, SegmentRegister.Gs })
        {
            cpu.SetSegment(segment, new SegmentState(0x10, 0, 0xFFFF_FFFF, 0xC093));
        }

        cpu.Eip = CodeOffset;
        return cpu;
    }

    /// <summary>Where pm-decode's compressed input (4 KiB of pseudo-random bytes, read with wrap-around) lives.</summary>
    public const uint DecodeInput = 0x20000;

    /// <summary>Where pm-decode's 256 dword probabilities live (each starts at 1024, half of 2048).</summary>
    public const uint DecodeProbabilities = 0x30000;

    /// <summary>Where pm-decode's output window starts (4 KiB, wrapping; the LZ back-reference reads 100h bytes behind it).</summary>
    public const uint DecodeOutput = 0x40100;

    /// <summary>pm-decode's state in memory: range at +4, code at +8, iterations left at +0Ch.</summary>
    public const uint DecodeState = 0x50000;

    /// <summary>Instructions before pm-decode's loop (setup) plus the final HLT.</summary>
    public const long DecodeOverheadInstructions = 8 + 1;

    /// <summary>Instructions of one pm-decode iteration that does not renormalise (both bit paths are 8 long).</summary>
    public const long DecodeIterationInstructions = 25;

    /// <summary>Extra instructions of an iteration that renormalises (range below 2^24: shift in one input byte).</summary>
    public const long DecodeRenormaliseInstructions = 8;

    /// <summary>
    /// A binary range decoder in the style of the LZMA/XZ decompressor's inner loop, as 32-bit protected-mode code: per bit
    /// a probability lookup with [base+index*4], SHR, IMUL, a compare of the code with the bound and a data-dependent
    /// branch, the probability update and store back, an LZ-style back-reference byte load and an output byte store, a
    /// compare of the range in memory and a renormalisation that shifts in the next input byte via MOVZX; the loop counter
    /// is a DEC of a dword in memory. 25 instructions per iteration, 33 when it renormalises; the exact count comes from
    /// <see cref="DecodeLoopInstructions"/>, which runs the same decoder in C#.
    /// </summary>
    /// <param name="iterations">Decoded bits (loop iterations).</param>
    /// <returns>The machine code, to load at <see cref="CodeOffset"/>.</returns>
    public static byte[] ProtectedDecodeLoop(uint iterations)
    {
        var a = new Assembler(32);
        Label loop = a.CreateLabel();
        Label one = a.CreateLabel();
        Label done = a.CreateLabel();
        Label noRenormalise = a.CreateLabel();
        a.mov(esi, DecodeInput);
        a.mov(edi, DecodeOutput);
        a.mov(ebx, DecodeProbabilities);
        a.xor(eax, eax);
        a.mov(__dword_ptr[DecodeState + 4], 0xFFFF_FFFF);
        a.mov(__dword_ptr[DecodeState + 8], 0);
        a.mov(__dword_ptr[DecodeState + 0xC], iterations);
        a.cld();
        a.Label(ref loop);
        a.mov(ecx, __dword_ptr[ebx + (eax * 4)]);   // probability of a 0 bit in this context (11-bit fixed point)
        a.mov(edx, __dword_ptr[DecodeState + 4]);   // range
        a.shr(edx, 11);
        a.imul(edx, ecx);                           // bound = (range >> 11) * probability
        a.mov(ebp, __dword_ptr[DecodeState + 8]);   // code
        a.cmp(ebp, edx);
        a.jae(one);
        a.mov(__dword_ptr[DecodeState + 4], edx);   // bit 0: range = bound, probability += (2048 - probability) >> 5
        a.mov(edx, 2048);
        a.sub(edx, ecx);
        a.shr(edx, 5);
        a.add(ecx, edx);
        a.mov(__dword_ptr[ebx + (eax * 4)], ecx);
        a.add(eax, eax);
        a.jmp(done);
        a.Label(ref one);
        a.sub(__dword_ptr[DecodeState + 4], edx);   // bit 1: range -= bound, code -= bound, probability -= probability >> 5
        a.sub(ebp, edx);
        a.mov(__dword_ptr[DecodeState + 8], ebp);
        a.mov(edx, ecx);
        a.shr(edx, 5);
        a.sub(ecx, edx);
        a.mov(__dword_ptr[ebx + (eax * 4)], ecx);
        a.lea(eax, __dword_ptr[eax + eax + 1]);
        a.Label(ref done);
        a.and(eax, 0xFF);                           // context = last eight bits
        a.movzx(edx, __byte_ptr[edi - 0x100]);      // LZ-style back-reference
        a.xor(edx, eax);
        a.mov(__byte_ptr[edi], dl);
        a.inc(edi);
        a.and(edi, DecodeOutput | 0xFFF);
        a.cmp(__dword_ptr[DecodeState + 4], 0x0100_0000);
        a.jae(noRenormalise);
        a.shl(__dword_ptr[DecodeState + 4], 8);     // range <<= 8, code = (code << 8) | next input byte
        a.mov(ebp, __dword_ptr[DecodeState + 8]);
        a.shl(ebp, 8);
        a.movzx(edx, __byte_ptr[esi]);
        a.or(ebp, edx);
        a.mov(__dword_ptr[DecodeState + 8], ebp);
        a.inc(esi);
        a.and(esi, DecodeInput | 0xFFF);
        a.Label(ref noRenormalise);
        a.dec(__dword_ptr[DecodeState + 0xC]);
        a.jnz(loop);
        a.hlt();
        return Assemble(a);
    }

    /// <summary>pm-decode's 4 KiB of input: a fixed xorshift sequence, so every run decodes the same bits.</summary>
    /// <returns>The bytes, to load at <see cref="DecodeInput"/>.</returns>
    public static byte[] DecodeInputBytes()
    {
        var bytes = new byte[4096];
        uint x = 0x9E3779B9;
        for (int i = 0; i < bytes.Length; i++)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            bytes[i] = (byte)x;
        }

        return bytes;
    }

    /// <summary>The exact number of instructions pm-decode retires, from the same range decoder run in C#.</summary>
    /// <param name="iterations">Loop iterations.</param>
    /// <returns>The count, including setup and HLT.</returns>
    public static long DecodeLoopInstructions(uint iterations)
    {
        byte[] input = DecodeInputBytes();
        var probabilities = new uint[256];
        Array.Fill(probabilities, 1024u);
        uint range = 0xFFFF_FFFF;
        uint code = 0;
        uint context = 0;
        int inputOffset = 0;
        long count = DecodeOverheadInstructions;
        for (uint i = 0; i < iterations; i++)
        {
            uint probability = probabilities[context];
            uint bound = (range >> 11) * probability;
            if (code < bound)
            {
                range = bound;
                probabilities[context] = probability + ((2048 - probability) >> 5);
                context <<= 1;
            }
            else
            {
                range -= bound;
                code -= bound;
                probabilities[context] = probability - (probability >> 5);
                context = (context << 1) + 1;
            }

            context &= 0xFF;
            count += DecodeIterationInstructions;
            if (range < 0x0100_0000)
            {
                range <<= 8;
                code = (code << 8) | input[inputOffset];
                inputOffset = (inputOffset + 1) & 0xFFF;
                count += DecodeRenormaliseInstructions;
            }
        }

        return count;
    }

    /// <summary>Builds pm-decode's machine: <see cref="CreateProtectedMachine"/> (paging off) plus its input and probabilities.</summary>
    /// <param name="iterations">Loop iterations.</param>
    /// <param name="options">CPU options.</param>
    /// <returns>The CPU.</returns>
    public static Cpu.Cpu CreateDecodeMachine(uint iterations, CpuOptions options)
    {
        var probabilities = new byte[256 * 4];
        for (int i = 0; i < 256; i++)
        {
            BitConverter.TryWriteBytes(probabilities.AsSpan(i * 4), 1024u);
        }

        return CreateProtectedMachine(ProtectedDecodeLoop(iterations), options, paging: false, memory =>
        {
            memory.Write(new PhysicalAddress(DecodeInput), DecodeInputBytes());
            memory.Write(new PhysicalAddress(DecodeProbabilities), probabilities);
        });
    }

    /// <summary>
    /// Builds a 1 MiB machine with 32-bit code at <see cref="CodeOffset"/> and a CPU in protected mode with flat 4 GiB
    /// segments at CPL 0; with <paramref name="paging"/>, 4 KiB pages identity-map the first MiB (CR0.PG set).
    /// </summary>
    /// <param name="code">The guest code.</param>
    /// <param name="options">CPU options.</param>
    /// <param name="paging">Whether paging is on.</param>
    /// <param name="initialise">Writes the guest's data into memory before the CPU starts, or null.</param>
    /// <returns>The CPU.</returns>
    public static Cpu.Cpu CreateProtectedMachine(byte[] code, CpuOptions options, bool paging, Action<PhysicalMemoryMap>? initialise = null)
    {
        PhysicalMemoryMap memory = new PhysicalMemoryMapBuilder().AddRam("ram", new PhysicalAddress(0), 1024 * 1024).Build();
        memory.Write(new PhysicalAddress(CodeOffset), code);
        initialise?.Invoke(memory);
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

    /// <summary>Bytes each iteration of the REP MOVS loop copies (64 KiB, from 20000h to 40000h).</summary>
    public const uint RepMovsBytesPerIteration = 0x10000;

    /// <summary>Instructions outside the REP MOVS loop (setup and HLT).</summary>
    public const long RepMovsOverheadInstructions = 3;

    /// <summary>
    /// Instructions the REP MOVS loop retires: per iteration three moves, the REP MOVS (one per element), DEC and JNZ; plus
    /// the setup and HLT.
    /// </summary>
    /// <param name="iterations">Loop iterations.</param>
    /// <param name="elementSize">1 for MOVSB, 4 for MOVSD.</param>
    /// <returns>The exact count.</returns>
    public static long RepMovsInstructions(uint iterations, int elementSize) =>
        (iterations * (5L + (RepMovsBytesPerIteration / (uint)elementSize))) + RepMovsOverheadInstructions;

    /// <summary>
    /// Flat 32-bit protected mode: copies 64 KiB of RAM with REP MOVSB or REP MOVSD, <paramref name="iterations"/> times
    /// (the memcpy of a kernel or a C library).
    /// </summary>
    /// <param name="iterations">Loop iterations.</param>
    /// <param name="elementSize">1 for MOVSB, 4 for MOVSD.</param>
    /// <returns>The machine code, to load at <see cref="CodeOffset"/> and run with <see cref="CreateProtectedMachine"/>.</returns>
    public static byte[] ProtectedRepMovsLoop(uint iterations, int elementSize)
    {
        var a = new Assembler(32);
        Label loop = a.CreateLabel();
        a.mov(ebp, iterations);
        a.cld();
        a.Label(ref loop);
        a.mov(esi, 0x20000);
        a.mov(edi, 0x40000);
        a.mov(ecx, RepMovsBytesPerIteration / (uint)elementSize);
        if (elementSize == 1)
        {
            a.rep.movsb();
        }
        else
        {
            a.rep.movsd();
        }

        a.dec(ebp);
        a.jnz(loop);
        a.hlt();
        return Assemble(a);
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
