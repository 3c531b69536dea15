using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests.Acceptance.CpuDifferential;

/// <summary>
/// Differential kernel 5: #GP/#NP/#SS error codes from bad segment loads, INT n through bad gates, a call gate to ring 0
/// with parameter copy, far return and IRET to ring 3 (with the data segment registers they null), #DF from a #NP raised
/// while delivering #GP, and SYSENTER/SYSEXIT.
/// </summary>
internal static class PrivilegeKernel
{
    private const ushort CallGate = 0x30;
    private const ushort NotPresentData = 0x38;
    private const ushort SmallData = 0x40;
    private const ushort ExecuteOnly = 0x48;
    private const ushort NotPresentCode = 0x50;
    private const ushort Ring3Data16 = 0x58;
    private const ushort Dpl0Gate = 0x60;
    private const ushort NotPresentGate = 0x68;

    public static byte[] Build() => DiffKernel.Build(k =>
    {
        Assembler a = k.A;
        k.SetGdt(CallGate / 8, DiffKernel.Gate(DiffKernel.Code0, k.Addr("gateTarget"), 0xEC, parameters: 2));
        k.SetGdt(NotPresentData / 8, DiffKernel.Seg(0, 0xFFFFF, 0x12, 0xC));
        k.SetGdt(SmallData / 8, DiffKernel.Seg(0x1E0000, 0xFFFF, 0x92, 0x4));
        k.SetGdt(ExecuteOnly / 8, DiffKernel.Seg(0, 0xFFFFF, 0x98, 0xC));
        k.SetGdt(NotPresentCode / 8, DiffKernel.Seg(0, 0xFFFFF, 0x1A, 0xC));
        k.SetGdt(Ring3Data16 / 8, DiffKernel.Seg(0, 0xFFFF, 0xF2, 0x0));
        k.SetGdt(Dpl0Gate / 8, DiffKernel.Gate(DiffKernel.Code0, k.Addr("gateTarget"), 0x8C));
        k.SetGdt(NotPresentGate / 8, DiffKernel.Gate(DiffKernel.Code0, k.Addr("gateTarget"), 0x6C));

        void LoadDs(ushort selector)
        {
            a.mov(ax, selector);
            a.mov(ds, ax);
        }

        void PrintSegs()
        {
            foreach (AssemblerRegisterSegment s in new[] { cs, ss, ds, es, fs, gs })
            {
                a.mov(ax, s);
                a.movzx(eax, ax);
                k.P(eax);
            }
        }

        // Segment loads (Intel SDM Vol. 2B, MOV; Vol. 3A, 6.15 for the error codes).
        k.Expect("E01", () => LoadDs(NotPresentData));                            // #NP(sel)
        k.Expect("E02", () => { a.mov(ax, NotPresentData); a.mov(ss, ax); });      // #SS(sel)
        k.Expect("E03", () => LoadDs(ExecuteOnly));                                // #GP(sel)
        k.Expect("E04", () => LoadDs(0x1008));                                     // beyond the GDT limit: #GP(sel)
        k.Expect("E05", () => { a.mov(ax, DiffKernel.Data3); a.mov(ss, ax); });    // RPL != CPL: #GP(sel)
        k.Expect("E06", () => LoadDs(0x0C));                                       // TI = 1 with a null LDTR: #GP(sel)
        k.Expect("E07", () => { a.mov(ax, DiffKernel.Data0); a.lldt(ax); });       // not an LDT descriptor: #GP(sel)
        k.Expect("E08", () => { a.mov(ax, DiffKernel.Tss0Selector); a.ltr(ax); }); // busy TSS: #GP(sel)
        k.Expect("E09", () => { a.mov(ax, NotPresentCode); a.mov(es, ax); });     // code segment not present... checked as data: #GP or #NP
        k.Expect("E10", () =>
        {
            a.mov(ax, SmallData);
            a.mov(ss, ax);
            a.mov(esp, 0x8000);
            a.mov(ebp, 0x10000);
            a.mov(ebx, __dword_ptr[ebp]); // beyond the SS limit: #SS(0)
        });
        k.Expect("E11", () =>
        {
            a.mov(ax, SmallData);
            a.mov(es, ax);
            a.mov(ebx, __dword_ptr.es[0xFFFE]); // straddles the ES limit: #GP(0)
        });
        k.Expect("E12", () => { a.push(0); a.pop(es); a.mov(ebx, __dword_ptr.es[0x100]); }); // null ES: #GP(0)
        k.Expect("E13", () => a.@int(0x21));                                      // zero IDT entry: #GP(21h*8+2)
        k.ExpectRing3("E14", () => a.@int(0x03));                                 // DPL-3 gate from ring 3: #BP
        k.ExpectRing3("E15", () => a.@int(0x0D));                                 // DPL-0 gate from ring 3: #GP(0Dh*8+2)
        k.ExpectRing3("E16", () => a.cli(), eflags: 0x0002);                      // IOPL 0: CLI at CPL 3 is #GP(0)
        k.ExpectRing3("E17", () => a.@out(0x80, al), eflags: 0x1002);             // IOPL 1, bitmap denies port 80h
        k.ExpectRing3("E18", () => a.mov(eax, cr0));                              // privileged: #GP(0)

        // Call gate with two parameters (Intel SDM Vol. 3A, 5.8.5): ring 3 -> ring 0 copies them onto the new stack.
        k.ExpectRing3("E19", () =>
        {
            a.push(0x1111_2222);
            a.push(0x3333_4444);
            a.mov(ecx, 0x0BAD_F00D);
            a.call(CallGate | 3, 0);
            k.Str("ret ");
            a.mov(eax, esp);
            k.P(eax);
            PrintSegs();
        });

        // Far return to ring 3 nulls DS/ES/FS/GS holding DPL-0 data segments (SDM Vol. 2B, RET); IRET likewise.
        k.Expect("E20", () =>
        {
            a.push(0x3002); // IOPL 3 so ring 3 may print
            a.popfd();
            a.mov(ax, DiffKernel.Data0);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(ax, Ring3Data16 | 3);
            a.mov(fs, ax);
            a.push(DiffKernel.Data3);
            a.push(DiffKernel.Ring3StackTop - 0x100);
            a.push(DiffKernel.Code3);
            a.push(k.Addr("afterRetf"));
            a.retf();
            k.Mark("afterRetf");
            PrintSegs();
            a.@int(DiffKernel.SoftVectorBase);
        });
        k.Expect("E21", () =>
        {
            a.mov(ax, DiffKernel.Data0);
            a.mov(ds, ax);
            a.mov(gs, ax);
            a.push(DiffKernel.Data3);
            a.push(DiffKernel.Ring3StackTop - 0x200);
            a.push(0x3202);
            a.push(DiffKernel.Code3);
            a.push(k.Addr("afterIret"));
            a.iretd();
            k.Mark("afterIret");
            a.pushfd();
            a.pop(eax);
            k.P(eax);
            PrintSegs();
            a.@int(DiffKernel.SoftVectorBase + 1);
        });

        // #DF: the #GP handler's gate names a not-present code segment, so delivering #GP raises #NP (contributory on
        // contributory, SDM Vol. 3A, Table 6-5). The #DF frame's CS:EIP are undefined (SDM 6.15, Interrupt 8): the test
        // compares the vector and error code only.
        a.mov(__word_ptr[DiffKernel.Idt + (13 * 8) + 2], NotPresentCode);
        k.Expect("E22", () => LoadDs(0x1008));
        a.mov(__word_ptr[DiffKernel.Idt + (13 * 8) + 2], DiffKernel.Code0);
        k.Expect("E23", () => LoadDs(0x1010)); // #GP is back to normal

        // SYSENTER/SYSEXIT (SDM Vol. 2B): flat segments derived from IA32_SYSENTER_CS = 08h.
        a.mov(ecx, 0x174);
        a.xor(edx, edx);
        a.mov(eax, (uint)DiffKernel.Code0);
        a.wrmsr();
        a.mov(ecx, 0x175);
        a.mov(eax, DiffKernel.Stack0Top - 0x1000);
        a.wrmsr();
        a.mov(ecx, 0x176);
        a.mov(eax, k.Addr("sysenterTarget"));
        a.wrmsr();
        k.ExpectRing3("E24", () =>
        {
            a.mov(ecx, DiffKernel.Ring3StackTop - 0x300);
            a.mov(edx, k.Addr("afterSysexit"));
            a.sysenter();
            k.Mark("afterSysexit");
            k.Str("back ");
            a.mov(eax, esp);
            k.P(eax);
            a.pushfd();
            a.pop(eax);
            k.P(eax);
            PrintSegs();
        }, eflags: 0x3202);
        k.ExpectRing3("E25", () => a.sysexit());                                 // SYSEXIT at CPL 3: #GP(0)

        // POPF at CPL 3 with IOPL 0 leaves IOPL and IF alone, without a fault (SDM Vol. 2B, POPF).
        k.ExpectRing3("E26", () =>
        {
            a.push(0x3000 | 0x0CD5);
            a.popfd();
            a.pushfd();
            a.pop(eax);
            k.P(eax);
        }, eflags: 0x0202);

        // A word OUT whose second port is denied by the I/O bitmap (SDM Vol. 1, 19.5.2), and call gates: DPL < CPL is
        // #GP(gate), not present is #NP(gate) (SDM Vol. 2A, CALL).
        k.ExpectRing3("E28", () =>
        {
            a.mov(dx, 0xE9);
            a.mov(al, (byte)'w');
            a.@out(dx, al);
            a.mov(al, (byte)' ');
            a.@out(dx, al);
            a.@out(dx, ax);
        }, eflags: 0x0002);
        k.ExpectRing3("E29", () => a.call(Dpl0Gate | 3, 0));
        k.ExpectRing3("E30", () => a.call(NotPresentGate | 3, 0));

        // IA32_SYSENTER_CS = 0: SYSENTER is #GP(0).
        a.mov(ecx, 0x174);
        a.xor(eax, eax);
        a.xor(edx, edx);
        a.wrmsr();
        k.ExpectRing3("E27", () => a.sysenter());
        a.jmp(k.L("done"));

        // Call-gate target: prints the ring-0 stack (return CS:EIP, the two copied parameters, the caller's SS:ESP).
        k.Mark("gateTarget");
        k.Str("gate ");
        a.mov(eax, esp);
        k.P(eax);
        for (int i = 0; i < 24; i += 4)
        {
            k.PM(__dword_ptr[esp + i]);
        }

        PrintSegs();
        a.retf(8);

        // SYSENTER target: CPL 0, IF cleared; returns with SYSEXIT to EDX with ESP = ECX.
        k.Mark("sysenterTarget");
        k.Str("sysenter ");
        a.mov(eax, esp);
        k.P(eax);
        a.pushfd();
        a.pop(eax);
        k.P(eax);
        PrintSegs();
        k.P(ecx);
        a.sysexit();

        k.Mark("done");
    });
}
