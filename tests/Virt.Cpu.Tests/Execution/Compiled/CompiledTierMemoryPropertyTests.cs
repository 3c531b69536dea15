using FsCheck.Xunit;
using Iced.Intel;
using Virt.Cpu.Tests.LongMode;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution.Compiled;

/// <summary>
/// The compiled tier's inline memory operands and stack operations (BlockEmitter.Memory.cs) against the interpreter: random
/// blocks of loads, stores, read-modify-write ALU forms, INC/DEC of memory, byte and word moves, PUSH/POP, CALL/RET and
/// stores into the running code, under paging with a not-present page, a read-only page (CR0.WP), an MMIO page and
/// accesses across page boundaries, with the stack sometimes at a page boundary or above a page that faults; in 32-bit
/// protected mode and in 64-bit mode. Both tiers must leave byte-identical state, CR2, RAM, MMIO contents and the same
/// sequence of MMIO accesses after every budget slice.
/// </summary>
public sealed class CompiledTierMemoryPropertyTests
{
    private const int InstructionKinds32 = 39;
    private const int InstructionKinds64 = 31;

    private static readonly AssemblerRegister32[] s_destinations = [eax, ecx, edx, ebx, esi, edi];
    private static readonly AssemblerRegister8[] s_bytes = [al, cl, dl, bl, ah, ch, dh, bh];
    private static readonly AssemblerRegister16[] s_words = [ax, cx, dx, bx, si, di];
    private static readonly AssemblerRegister64[] s_longs = [rax, rcx, rdx, rbx, rsi, rdi, r8, r9, r10, r11];
    private static readonly AssemblerRegister8[] s_longBytes = [al, cl, dl, bl, ah, ch, sil, dil, r8b, r9b];

    /// <summary>Offsets within a page that put 1-8-byte accesses at its start, across its end and in between.</summary>
    private static readonly int[] s_pageOffsets = [0, 1, 2, 3, 0x7FC, 0xFF8, 0xFF9, 0xFFA, 0xFFB, 0xFFC, 0xFFD, 0xFFE, 0xFFF, 0x104, 0x400, 0x40];

    [Property(MaxTest = 150)]
    public void Random_memory_blocks_in_32_bit_code_leave_the_same_state(uint seed, uint[] program, uint[] registers, byte[] slices, byte mode)
    {
        byte[] code = Build32(Extend(program ?? [], seed));
        int threshold = mode % 3;
        uint esp = ((mode >> 2) & 7) switch
        {
            0 => PagedMachine.DataBase + 0x1002, // a push crosses from page 21000h into 20000h
            1 => PagedMachine.DataBase + 0x3004, // pushes reach the read-only page: #PF
            2 => PagedMachine.DataBase + 0x2FFE, // pops cross into the read-only page, pushes into the not-present one
            _ => PagedMachine.StackTop,
        };
        var interpreter = new PagedMachine(TierComparison.Interpreter, code, registers ?? [], esp);
        var compiled = new PagedMachine(TierComparison.Compiled(threshold), code, registers ?? [], esp);
        RunAndCompare(interpreter.Cpu, interpreter.Memory, interpreter.Device, compiled.Cpu, compiled.Memory, compiled.Device,
            (mode & 0x20) != 0 ? slices ?? [] : [], PagedMachine.RamBytes);
        if (threshold == 0)
        {
            Assert.True(compiled.Cpu.CompiledTierStatistics.BlocksCompiled > 0, "nothing was compiled");
        }
    }

    [Property(MaxTest = 100)]
    public void Random_memory_blocks_in_64_bit_code_leave_the_same_state(uint seed, uint[] program, ulong[] registers, byte[] slices, byte mode)
    {
        uint[] words = Extend(program ?? [], seed);
        int threshold = mode % 3;
        ulong rsp = ((mode >> 2) & 3) switch
        {
            0 => LongData + 0x3FFC, // pushes cross the page below; pops run into the not-present 2 MiB page
            1 => NotPresent + 8, // every push and pop faults (and so does the exception frame: a triple fault)
            _ => LongModeHarness.StackTop,
        };
        LongModeHarness interpreter = PrepareLong(TierComparison.Interpreter, words, registers ?? [], rsp);
        LongModeHarness compiled = PrepareLong(TierComparison.Compiled(threshold), words, registers ?? [], rsp);
        RunAndCompare(interpreter.Cpu, interpreter.Memory, null, compiled.Cpu, compiled.Memory, null,
            (mode & 0x20) != 0 ? slices ?? [] : [], 2 * 1024 * 1024);
    }

    /// <summary>The first 2 MiB page above RAM, made not present: 8-byte accesses just below it cross into a fault.</summary>
    internal const ulong NotPresent = 0x20_0000;

    /// <summary>RBP in 64-bit code: four 4 KiB pages below the not-present 2 MiB page.</summary>
    internal const ulong LongData = NotPresent - 0x4000;

    internal static void RunAndCompare(Cpu interpreter, PhysicalMemoryMap interpreterMemory, ScratchDevice? interpreterDevice,
        Cpu compiled, PhysicalMemoryMap compiledMemory, ScratchDevice? compiledDevice, byte[] slices, ulong ramBytes)
    {
        const long Total = 3000;
        long total = 0;
        for (int i = 0; i <= slices.Length && total < Total; i++)
        {
            long budget = i < slices.Length ? 1 + slices[i] : Total - total;
            StopReason expected = interpreter.Run(budget);
            StopReason actual = compiled.Run(budget);
            Assert.Equal(expected, actual);
            total += budget;
            bool last = expected is StopReason.Halted or StopReason.Shutdown || i == slices.Length || total >= Total;
            TierComparison.AssertSameState(interpreter, interpreterMemory, compiled, compiledMemory, ramBytes, $"slice {i}", compareRam: last);
            Assert.True(interpreter.Cr2 == compiled.Cr2, $"slice {i}: CR2 interpreter {interpreter.Cr2:X} compiled {compiled.Cr2:X}");
            if (interpreterDevice is not null && compiledDevice is not null)
            {
                Assert.Equal(interpreterDevice.Accesses, compiledDevice.Accesses);
                Assert.Equal(interpreterDevice.Bytes, compiledDevice.Bytes);
            }

            if (last)
            {
                break;
            }
        }
    }

    internal static uint[] Extend(uint[] program, uint seed)
    {
        int length = 16 + (int)(seed % 33);
        if (program.Length >= length)
        {
            return program;
        }

        uint[] extended = new uint[length];
        program.CopyTo(extended, 0);
        uint x = seed | 1;
        for (int i = program.Length; i < length; i++)
        {
            // xorshift32: a fixed function of the seed, so a failing case replays.
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            extended[i] = x;
        }

        return extended;
    }

    /// <summary>A displacement from the data base: one of the six data pages, at an offset near a page boundary or not.</summary>
    internal static int Displacement(uint w) => (int)((w >> 20) % PagedMachine.DataPages * 0x1000) + s_pageOffsets[(w >> 24) & 15];

    private static byte[] Build32(uint[] program)
    {
        var a = new Assembler(32);
        int count = Math.Min(program.Length, 48);
        Label[] labels = new Label[count + 1];
        for (int i = 0; i <= count; i++)
        {
            labels[i] = a.CreateLabel();
        }

        for (int i = 0; i < count; i++)
        {
            a.Label(ref labels[i]);
            Emit32(a, program[i], labels[Math.Min(i + 1 + (int)((program[i] >> 28) & 3), count)], labels[Math.Max(0, i - 1 - (int)((program[i] >> 28) & 3))]);
        }

        a.Label(ref labels[count]);
        a.hlt();
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), PagedMachine.CodeAddress);
        return stream.ToArray();
    }

    private static void Emit32(Assembler a, uint w, Label forward, Label earlier)
    {
        AssemblerRegister32 d = s_destinations[(w >> 8) % s_destinations.Length];
        AssemblerRegister32 s = s_destinations[(w >> 12) % s_destinations.Length];
        AssemblerRegister8 b = s_bytes[(w >> 12) % s_bytes.Length];
        AssemblerRegister16 sw = s_words[(w >> 12) % s_words.Length];
        int imm = (int)(w >> 16) - 0x8000;
        AssemblerMemoryOperand m = __[ebp + Displacement(w)];
        switch (w % InstructionKinds32)
        {
            case 0: a.mov(d, __dword_ptr[m]); break;
            case 1: a.mov(__dword_ptr[m], s); break;
            case 2: a.mov(__dword_ptr[m], imm); break;
            case 3: a.movzx(d, __byte_ptr[m]); break;
            case 4: a.movzx(d, __word_ptr[m]); break;
            case 5: a.movsx(d, __byte_ptr[m]); break;
            case 6: a.movsx(d, __word_ptr[m]); break;
            case 7: a.add(d, __dword_ptr[m]); break;
            case 8: a.sub(d, __dword_ptr[m]); break;
            case 9: a.cmp(d, __dword_ptr[m]); break;
            case 10: a.and(d, __dword_ptr[m]); break;
            case 11: a.or(d, __dword_ptr[m]); break;
            case 12: a.xor(d, __dword_ptr[m]); break;
            case 13: a.add(__dword_ptr[m], s); break;
            case 14: a.sub(__dword_ptr[m], imm); break;
            case 15: a.cmp(__dword_ptr[m], s); break;
            case 16: a.and(__dword_ptr[m], s); break;
            case 17: a.or(__dword_ptr[m], imm); break;
            case 18: a.xor(__dword_ptr[m], s); break;
            case 19: a.test(__dword_ptr[m], s); break;
            case 20: a.test(__dword_ptr[m], imm); break;
            case 21: a.inc(__dword_ptr[m]); break;
            case 22: a.dec(__dword_ptr[m]); break;
            case 23: a.mov(b, __byte_ptr[m]); break;
            case 24: a.mov(__byte_ptr[m], b); break;
            case 25: a.mov(__word_ptr[m], sw); break;
            case 26: a.push(s); break;
            case 27: a.push(imm); break;
            case 28: a.pop(d); break;
            case 29:
                {
                    // CALL to a subroutine of one memory instruction and RET (or RET 4), then on.
                    Label sub = a.CreateLabel();
                    Label after = a.CreateLabel();
                    a.call(sub);
                    a.jmp(after);
                    a.Label(ref sub);
                    a.add(d, __dword_ptr[m]);
                    if ((w & 0x80) != 0)
                    {
                        a.ret((short)4);
                    }
                    else
                    {
                        a.ret();
                    }

                    a.Label(ref after);

                    // Iced takes one label per instruction: the next instruction has its own.
                    a.nop();
                    break;
                }

            case 30:
                {
                    // A store into the code, usually of the block that runs (same bytes back: the code goes on as it was).
                    uint address = PagedMachine.CodeAddress + ((w >> 16) & 0x7F);
                    a.mov(d, __dword_ptr[address]);
                    a.mov(__dword_ptr[address], d);
                    break;
                }

            case 31: a.add(d, s); break;
            case 32:
                a.cmp(d, __dword_ptr[m]);
                a.jb(forward);
                break;
            case 33:
                a.inc(__dword_ptr[m]);
                a.jne(forward);
                break;
            case 34: a.adc(d, __dword_ptr[m]); break;
            case 35:
                // A base and a scaled index: addresses anywhere (unmapped, beyond the page table, the tables themselves).
                a.mov(d, __dword_ptr[ebp + s * 4 + Displacement(w)]);
                break;
            case 36: a.mov(__dword_ptr[s + Displacement(w)], d); break;
            case 37:
                // A backward branch: loops (bounded by the budget) enter the compiled blocks again with a warm TLB.
                a.sub(__dword_ptr[m], 1);
                a.jne(earlier);
                break;
            default:
                a.dec(d);
                a.jg(forward);
                break;
        }
    }

    internal static LongModeHarness PrepareLong(CpuOptions options, uint[] program, ulong[] registers, ulong rsp, Action<Assembler, uint[]>? build = null)
    {
        var machine = new LongModeHarness(options: options);
        machine.Load(a => (build ?? Build64)(a, program));

        // The second 2 MiB page is not present (the harness maps the first GiB with 2 MiB pages).
        machine.Memory.WriteQuadWord(new PhysicalAddress(LongModeHarness.PageDirectory + 8), 0);

        // The 32-bit entry code runs first (interpreted by both); then the 64-bit code with these registers.
        Assert.True(RunToCode(machine), "the 64-bit code was not reached");
        for (int i = 0; i < s_longs.Length; i++)
        {
            GeneralRegister r = (GeneralRegister)(s_longs[i].Value - Register.RAX);
            machine.Cpu.SetRegister(r, i < registers.Length ? registers[i] : (ulong)(i * 0x0101_0101_0101_0101L));
        }

        machine.Cpu.SetRegister(GeneralRegister.Rbp, LongData);
        machine.Cpu.SetRegister(GeneralRegister.Rsp, rsp);
        return machine;
    }

    /// <summary>Runs the harness's entry code one instruction at a time until the 64-bit code is reached.</summary>
    private static bool RunToCode(LongModeHarness machine)
    {
        for (int i = 0; i < 100; i++)
        {
            if (machine.Cpu.Eip == LongModeHarness.CodeAddress)
            {
                return true;
            }

            machine.Cpu.Run(1);
        }

        return false;
    }

    private static void Build64(Assembler a, uint[] program)
    {
        int count = Math.Min(program.Length, 48);
        Label[] labels = new Label[count + 1];
        for (int i = 0; i <= count; i++)
        {
            labels[i] = a.CreateLabel();
        }

        for (int i = 0; i < count; i++)
        {
            a.Label(ref labels[i]);
            Emit64(a, program[i], labels[Math.Min(i + 1 + (int)((program[i] >> 28) & 3), count)], labels[Math.Max(0, i - 2)]);
        }

        a.Label(ref labels[count]);
        a.hlt();
    }

    private static void Emit64(Assembler a, uint w, Label forward, Label earlier)
    {
        AssemblerRegister64 d = s_longs[(w >> 8) % s_longs.Length];
        AssemblerRegister64 s = s_longs[(w >> 12) % s_longs.Length];
        AssemblerRegister32 d32 = s_destinations[(w >> 8) % s_destinations.Length];
        AssemblerRegister32 s32 = s_destinations[(w >> 12) % s_destinations.Length];
        AssemblerRegister8 b = s_longBytes[(w >> 12) % s_longBytes.Length];
        int imm = (int)(w >> 16) - 0x8000;

        // Four 4 KiB pages below the not-present 2 MiB page, at offsets that cross page boundaries (and into the fault).
        AssemblerMemoryOperand m = __[rbp + (int)(((w >> 20) & 3) * 0x1000) + s_pageOffsets[(w >> 24) & 15]];
        switch (w % InstructionKinds64)
        {
            case 0: a.mov(d, __qword_ptr[m]); break;
            case 1: a.mov(__qword_ptr[m], s); break;
            case 2: a.mov(__dword_ptr[m], s32); break;
            case 3: a.mov(__qword_ptr[m], imm); break;
            case 4: a.add(d, __qword_ptr[m]); break;
            case 5: a.sub(d32, __dword_ptr[m]); break;
            case 6: a.cmp(d, __qword_ptr[m]); break;
            case 7: a.xor(d, __qword_ptr[m]); break;
            case 8: a.add(__qword_ptr[m], s); break;
            case 9: a.sub(__dword_ptr[m], imm); break;
            case 10: a.cmp(__qword_ptr[m], imm); break;
            case 11: a.and(__qword_ptr[m], s); break;
            case 12: a.or(__dword_ptr[m], s32); break;
            case 13: a.test(__qword_ptr[m], s); break;
            case 14: a.inc(__qword_ptr[m]); break;
            case 15: a.dec(__dword_ptr[m]); break;
            case 16: a.movzx(d32, __byte_ptr[m]); break;
            case 17: a.movsx(d, __word_ptr[m]); break;
            case 18: a.movsxd(d, __dword_ptr[m]); break;
            case 19: a.mov(b, __byte_ptr[m]); break;
            case 20: a.push(s); break;
            case 21: a.push(imm); break;
            case 22: a.pop(d); break;
            case 23:
                {
                    Label sub = a.CreateLabel();
                    Label after = a.CreateLabel();
                    a.call(sub);
                    a.jmp(after);
                    a.Label(ref sub);
                    a.add(d, __qword_ptr[m]);
                    a.ret();
                    a.Label(ref after);

                    // Iced takes one label per instruction: the next instruction has its own.
                    a.nop();
                    break;
                }

            case 24:
                // RIP-relative: a load of the code bytes a little earlier and a store of them back (self-modifying code).
                a.mov(d, __qword_ptr[earlier]);
                a.mov(__qword_ptr[earlier], d);
                break;
            case 25: a.add(d, s); break;
            case 26:
                a.cmp(d, __qword_ptr[m]);
                a.jl(forward);
                break;
            case 27: a.mov(d, __qword_ptr[rbp + s * 8 + (int)((w >> 20) & 0xFF8)]); break;
            case 28: a.adc(d, __qword_ptr[m]); break;
            case 29:
                a.dec(__dword_ptr[m]);
                a.jne(earlier);
                break;
            default:
                a.dec(d);
                a.jg(forward);
                break;
        }
    }

    /// <summary>
    /// A 1 MiB machine in 32-bit protected mode with paging (CR0.WP set) at CPL 0: code at 10000h, six data pages from
    /// 20000h (present, present, not present, read-only, present, and the MMIO page), HLT handlers for the exceptions.
    /// </summary>
    internal sealed class PagedMachine
    {
        public const uint CodeAddress = 0x10000;
        public const uint DataBase = 0x20000;
        public const int DataPages = 6;
        public const uint StackTop = 0x7F000;
        public const ulong RamBytes = 1024 * 1024;

        private const uint GdtAddress = 0x800;
        private const uint IdtAddress = 0x1000;
        private const uint HandlerBase = 0x9000;
        private const uint PageDirectory = 0x90000;
        private const uint PageTable = 0x91000;
        private const uint MmioPhysical = 0x10_0000;
        private const ushort FlatCode = 0x08;
        private const ushort FlatData = 0x10;
        private const ulong FlatCodeDescriptor = 0x00CF_9A00_0000_FFFF;
        private const ulong FlatDataDescriptor = 0x00CF_9200_0000_FFFF;
        private const uint PresentWritable = 3;
        private const uint PresentReadOnly = 1;
        private const ulong Cr0Protection = 1;
        private const ulong Cr0WriteProtect = 1UL << 16;
        private const ulong Cr0Paging = 1UL << 31;

        public PagedMachine(CpuOptions options, byte[] code, uint[] registers, uint esp)
        {
            Device = new ScratchDevice();
            Memory = new PhysicalMemoryMapBuilder()
                .AddRam("ram", new PhysicalAddress(0), RamBytes)
                .AddMmio("scratch", new PhysicalAddress(MmioPhysical), 0x1000, Device)
                .Build();
            Cpu = new Cpu(new CpuBus { Memory = Memory, Ports = new IoPortSpace() }, options);
            Memory.WriteQuadWord(new PhysicalAddress(GdtAddress + FlatCode), FlatCodeDescriptor);
            Memory.WriteQuadWord(new PhysicalAddress(GdtAddress + FlatData), FlatDataDescriptor);
            for (uint vector = 0; vector < 32; vector++)
            {
                uint handler = HandlerBase + (vector * 16);
                Memory.WriteByte(new PhysicalAddress(handler), 0xF4);
                ulong gate = (handler & 0xFFFFUL) | ((ulong)FlatCode << 16) | (0x8EUL << 40) | ((ulong)(handler >> 16) << 48);
                Memory.WriteQuadWord(new PhysicalAddress(IdtAddress + (vector * 8)), gate);
            }

            Memory.WriteDoubleWord(new PhysicalAddress(PageDirectory), PageTable | PresentWritable);
            for (uint page = 0; page < RamBytes >> 12; page++)
            {
                Memory.WriteDoubleWord(new PhysicalAddress(PageTable + (page * 4)), (page << 12) | PresentWritable);
            }

            uint first = DataBase >> 12;
            Memory.WriteDoubleWord(new PhysicalAddress(PageTable + ((first + 2) * 4)), 0);
            Memory.WriteDoubleWord(new PhysicalAddress(PageTable + ((first + 3) * 4)), ((first + 3) << 12) | PresentReadOnly);
            Memory.WriteDoubleWord(new PhysicalAddress(PageTable + ((first + 5) * 4)), MmioPhysical | PresentWritable);
            Memory.Write(new PhysicalAddress(CodeAddress), code);

            Cpu.Reset();
            Cpu.GdtBase = GdtAddress;
            Cpu.GdtLimit = 0x1F;
            Cpu.IdtBase = IdtAddress;
            Cpu.IdtLimit = 0xFF;
            Cpu.Cr3 = PageDirectory;
            Cpu.Cr0 |= Cr0Protection | Cr0WriteProtect | Cr0Paging;
            Cpu.LoadSegmentFromDescriptor(SegmentRegister.Cs, FlatCode, FlatCodeDescriptor);
            foreach (SegmentRegister segment in new[] { SegmentRegister.Ds, SegmentRegister.Es, SegmentRegister.Ss, SegmentRegister.Fs, SegmentRegister.Gs })
            {
                Cpu.LoadSegmentFromDescriptor(segment, FlatData, FlatDataDescriptor);
            }

            Cpu.Eip = CodeAddress;
            GeneralRegister[] order = [GeneralRegister.Rax, GeneralRegister.Rcx, GeneralRegister.Rdx, GeneralRegister.Rbx, GeneralRegister.Rsi, GeneralRegister.Rdi];
            for (int i = 0; i < order.Length; i++)
            {
                Cpu.SetRegister(order[i], i < registers.Length ? registers[i] : (uint)(i * 0x0101_0101));
            }

            Cpu.SetRegister(GeneralRegister.Rbp, DataBase);
            Cpu.SetRegister(GeneralRegister.Rsp, esp);
            Cpu.FlushDecodeCache();
        }

        public PhysicalMemoryMap Memory { get; }

        public Cpu Cpu { get; }

        public ScratchDevice Device { get; }
    }

    /// <summary>An MMIO page of plain bytes (any width, any alignment) that records every access in order.</summary>
    internal sealed class ScratchDevice : IMmioDevice
    {
        public byte[] Bytes { get; } = new byte[0x1000];

        public List<(bool Write, ulong Offset, int Size, ulong Value)> Accesses { get; } = [];

        public AccessWidths SupportedWidths => AccessWidths.Byte | AccessWidths.Word | AccessWidths.DoubleWord | AccessWidths.QuadWord;

        public ulong Read(RegionOffset offset, int sizeInBytes)
        {
            ulong value = 0;
            for (int i = 0; i < sizeInBytes; i++)
            {
                value |= (ulong)Bytes[(int)(offset.Value + (ulong)i) & 0xFFF] << (8 * i);
            }

            Accesses.Add((false, offset.Value, sizeInBytes, value));
            return value;
        }

        public void Write(RegionOffset offset, int sizeInBytes, ulong value)
        {
            for (int i = 0; i < sizeInBytes; i++)
            {
                Bytes[(int)(offset.Value + (ulong)i) & 0xFFF] = (byte)(value >> (8 * i));
            }

            Accesses.Add((true, offset.Value, sizeInBytes, value));
        }
    }
}
