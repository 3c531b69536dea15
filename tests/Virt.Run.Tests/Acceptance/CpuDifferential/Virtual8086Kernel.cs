using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests.Acceptance.CpuDifferential;

/// <summary>
/// Differential kernel 3: virtual-8086 mode (Intel SDM Vol. 3B, chapter 20): IRET into v86, INT n to the ring-0 monitor
/// (the full frame with the v86 segment registers), IOPL-sensitive instructions, the I/O bitmap; with CR4.VME: CLI/STI
/// on VIF, PUSHF's virtual image, STI with VIP, INT n redirected through the v86 IVT; CR4.PVI at CPL 3.
/// </summary>
internal static class Virtual8086Kernel
{
    private const ushort Segment = 0x6000;
    private const uint Base = Segment * 16u;
    private const uint FlagVm = 1u << 17;
    private const uint FlagVif = 1u << 19;
    private const uint FlagVip = 1u << 20;
    private const int Redirected = 0x30;

    public static byte[] Build() => DiffKernel.Build(k =>
    {
        Assembler a = k.A;
        (byte[] blob, Dictionary<string, ushort> entry) = Blob();
        k.PokeBytes(DiffKernel.Blob, blob);

        // Interrupt redirection bitmap: INT 30h is redirected to the v86 IVT under VME; every other vector goes to the monitor.
        k.Poke8(DiffKernel.Tss0 + DiffKernel.Tss0IoMap - 32 + (Redirected / 8), unchecked((byte)~(1 << (Redirected % 8))));

        a.cld();
        a.mov(esi, DiffKernel.Blob);
        a.mov(edi, Base);
        a.mov(ecx, blob.Length);
        a.rep.movsb();
        a.mov(__dword_ptr[Redirected * 4], ((uint)Segment << 16) | entry["ivtHandler"]);

        void EnterV86(string tag, string at, uint eflags)
        {
            k.Str(tag + " ");
            string resume = k.Try();
            foreach (uint seg in new uint[] { Segment, Segment, Segment, Segment, Segment })
            {
                a.push(seg); // GS, FS, DS, ES, SS
            }

            a.push(0xFFF0);
            a.push(eflags | FlagVm | 0x2);
            a.push((uint)Segment);
            a.push((uint)entry[at]);
            a.mov(eax, 0); // every entry starts from the same EAX, whatever the previous check did
            a.iretd();
            k.Mark(resume);
        }

        const uint Iopl3 = 0x3000;

        // Without VME.
        EnterV86("V01", "intMonitor", Iopl3);              // IOPL 3: INT n goes through the IDT to ring 0
        EnterV86("V02", "intMonitor", 0);                  // IOPL < 3: #GP(0)
        EnterV86("V03", "cli", 0);                         // #GP(0)
        EnterV86("V04", "pushf", 0x200);                   // #GP(0)
        EnterV86("V05", "cli", Iopl3 | 0x200);             // IOPL 3: CLI works, then INT to the monitor
        EnterV86("V06", "out80", Iopl3);                   // the I/O bitmap denies port 80h whatever IOPL: #GP(0)
        EnterV86("V07", "outE9", 0);                       // port E9h is allowed by the bitmap even with IOPL 0
        EnterV86("V08", "hlt", Iopl3);                     // privileged: #GP(0)
        EnterV86("V09", "movCr0", Iopl3);                  // #GP(0)
        EnterV86("V10", "popfIopl", Iopl3);                // POPF cannot change IOPL in v86 (SDM Vol. 2B, POPF)

        // With CR4.VME.
        a.mov(eax, cr4);
        a.or(eax, 1);
        a.mov(cr4, eax);
        EnterV86("V11", "vif", 0x200);                     // CLI/PUSHF/STI/PUSHF on VIF, then INT 41h
        EnterV86("V12", "vif", 0x200 | Iopl3);             // IOPL 3: the real IF
        EnterV86("V13", "redirect", 0x200);                // INT 30h through the v86 IVT (redirection bit 0)
        EnterV86("V14", "redirect", 0x200 | Iopl3);        // IOPL 3, redirection bit 0: the v86 IVT too
        EnterV86("V15", "intMonitor", 0x200);              // redirection bit 1, IOPL < 3: #GP(0)
        EnterV86("V16", "sti", 0x200 | FlagVip);           // STI with VIP = 1 and IOPL < 3: #GP(0)
        EnterV86("V17", "popfTf", 0x200);                  // POPF with TF set and IOPL < 3: #GP(0)
        a.mov(eax, cr4);
        a.and(eax, ~1);
        a.mov(cr4, eax);

        // CR4.PVI: CLI/STI at CPL 3 with IOPL < 3 change VIF (SDM Vol. 3B, 20.4).
        a.mov(eax, cr4);
        a.or(eax, 2);
        a.mov(cr4, eax);
        k.ExpectRing3("V18", () =>
        {
            a.cli();
            a.pushfd();
            a.pop(eax);
            k.P(eax);
        }, eflags: 0x0202 | FlagVif);
        k.ExpectRing3("V19", () => a.cli(), eflags: 0x0202);
        a.mov(eax, cr4);
        a.and(eax, ~2);
        a.mov(cr4, eax);
    });

    private static (byte[] Blob, Dictionary<string, ushort> Entry) Blob()
    {
        var a = new Assembler(16);
        var labels = new Dictionary<string, Label>();
        void Mark(string name)
        {
            Label l = a.CreateLabel(name);
            a.Label(ref l);
            labels[name] = l;
        }

        void ToMonitor() => a.@int(DiffKernel.SoftVectorBase + 1);

        Mark("intMonitor");
        a.mov(ax, 0x1234);
        ToMonitor();
        Mark("cli");
        a.cli();
        a.mov(ax, 0x5678);
        ToMonitor();
        Mark("pushf");
        a.pushf();
        ToMonitor();
        Mark("out80");
        a.@out(0x80, al);
        ToMonitor();
        Mark("outE9");
        a.mov(al, (byte)'v');
        a.@out(0xE9, al);
        a.mov(al, (byte)' ');
        a.@out(0xE9, al);
        a.hlt();
        Mark("hlt");
        a.hlt();
        Mark("movCr0");
        a.mov(eax, cr0);
        Mark("popfIopl");
        a.pushf();
        a.pop(ax);
        a.and(ax, 0x0FFF);
        a.push(ax);
        a.popf();
        a.pushf();
        a.pop(ax);
        ToMonitor();

        Mark("vif");
        a.cli();
        a.pushf();
        a.pop(ax);
        a.sti();
        a.pushf();
        a.pop(bx);
        a.shl(eax, 16);
        a.mov(ax, bx);
        ToMonitor();
        Mark("redirect");
        a.mov(ax, 0x4242);
        a.@int(Redirected);
        Mark("ivtHandler");
        a.mov(bp, sp);
        a.mov(ax, __word_ptr[bp + 4]); // FLAGS image pushed by the redirected INT
        a.shl(eax, 16);
        a.mov(ax, __word_ptr[bp + 2]); // CS
        ToMonitor();
        Mark("sti");
        a.sti();
        ToMonitor();
        Mark("popfTf");
        a.push(0x0100);
        a.popf();
        ToMonitor();

        using var stream = new MemoryStream();
        AssemblerResult result = a.Assemble(new StreamCodeWriter(stream), 0, BlockEncoderOptions.ReturnNewInstructionOffsets);
        return (stream.ToArray(), labels.ToDictionary(p => p.Key, p => (ushort)result.GetLabelRIP(p.Value)));
    }
}
